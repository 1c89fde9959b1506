/**
 * A test bed for device authors: drives a device through a mock connection (no socket, no OS
 * fds) with a stream of command frames, and reports its replies, interrupts and DMA as
 * DeviceOutput records, so a marble test can assert them.
 */
import { EMPTY, Observable, Subject, concat, concatMap, defer, filter, map, merge, mergeMap, of, take, takeUntil, type Subscription } from 'rxjs';
import { Command, DmaMapFlags, HeaderFlags, IrqSetFlags, MessageType } from '../../protocol/constants.js';
import type { CapabilitiesInput } from '../../protocol/capabilities.js';
import type { Frame, OutgoingMessage } from '../../protocol/frame.js';
import { asFrame, mockConnection } from '../../wire/mock.js';
import type { PciDevice } from '../device.js';
import { irqTypes } from '../irq-table.js';
import { runDevice } from '../run.js';
import { defaultLimits, type ServerLimits } from '../state.js';
import type { IrqType } from '../types.js';
import { fakeIo, type FakeIo } from './fake-io.js';
import { answerDma, replyOutput, type DeviceOutput, type DmaWriteReply } from './outputs.js';
import { qemuCapabilities, requests, type Requests } from './requests.js';

/** Options of a test bed. */
export interface TestBedOptions {
  /** Guest RAM from IOVA 0 (default 64 KiB of zeros). */
  readonly memory?: Buffer;
  readonly limits?: Partial<ServerLimits>;
  /** The capabilities the mock client proposes in its VERSION (default QEMU's). */
  readonly client?: CapabilitiesInput;
  readonly dmaWriteReply?: DmaWriteReply;
}

/** Options of one run. */
export interface RunOptions {
  /** Send VERSION first (default true); false to test what comes before it. */
  readonly version?: boolean;
}

/** A connection driven by promises, for tests that are easier to write step by step. */
export interface MockSession {
  /** Sends a command and resolves with the server's reply frame (error replies included). */
  send(frame: Frame): Promise<Frame>;
  /** Sends a command without waiting (No_reply, or to pipeline). */
  post(frame: Frame): void;
  /** Everything the device produced so far. */
  readonly outputs: readonly DeviceOutput[];
  /** Every message the server sent. */
  readonly sent: readonly OutgoingMessage[];
  /** The client hangs up (the server sees EOF). */
  hangUp(): void;
  /** Stops the device (everything it holds is released). */
  stop(): void;
}

/** A device under test with its fake I/O and guest memory. */
export interface TestBed {
  readonly io: FakeIo;
  readonly memory: Buffer;
  /** Frame builders (their message ids count from 0). */
  readonly req: Requests;
  /** DMA_MAP of guest memory [iova, iova + size): with an fd of it ('fd') or without ('message'). */
  map(iova: number, size: number, mode: 'fd' | 'message', flags?: number): Frame;
  /** SET_IRQS EVENTFD with fresh eventfds for vectors [start, start + count), reported as `irq` outputs. */
  irqs(type: IrqType, start: number, count: number, action?: 'trigger' | 'mask' | 'unmask'): Frame;
  /** Serves the device to one mock client sending `input$` (after VERSION); emits what it produces. */
  run(input$: Observable<Frame>, options?: RunOptions): Observable<DeviceOutput>;
  /** Starts serving a mock client driven by promises. */
  open(options?: RunOptions): MockSession;
}

const ACTION_FLAGS = { trigger: IrqSetFlags.ACTION_TRIGGER, mask: IrqSetFlags.ACTION_MASK, unmask: IrqSetFlags.ACTION_UNMASK } as const;

type IrqLabel = { readonly type: IrqType; readonly vector: number; readonly action: 'trigger' | 'mask' | 'unmask' };

/** What the drivers of one test bed share. */
interface BedEnv {
  readonly device: PciDevice;
  readonly io: FakeIo;
  readonly memory: Buffer;
  readonly req: Requests;
  readonly options: TestBedOptions;
  /** Which fake eventfd stands for which vector (set by `irqs`). */
  readonly labels: ReadonlyMap<number, IrqLabel>;
}

const irqOutput = (labels: ReadonlyMap<number, IrqLabel>, fd: number): DeviceOutput | undefined => {
  const l = labels.get(fd);
  if (!l) return undefined;
  return l.action === 'trigger' ? { kind: 'irq', type: l.type, vector: l.vector } : { kind: 'irq', type: l.type, vector: l.vector, action: l.action };
};

/** Wires a mock connection to the device: frames in; replies, DMA answers and interrupts out. */
const drive = (env: BedEnv, input$: Observable<Frame>, run: RunOptions, hangUp$: Observable<unknown>) => {
  const start = new Subject<void>();
  const loop = new Subject<Frame>();
  const versionFrame = env.req.version(env.options.client ?? qemuCapabilities);
  const first$ = run.version === false ? input$ : concat(of(versionFrame), input$);
  // Frames flow only once every subscriber of the connection is in place (see `start`): the
  // endpoint subscribes to them twice, and a synchronous source would reach only the first.
  const frames$ = merge(start.pipe(take(1), concatMap(() => first$)), loop).pipe(takeUntil(hangUp$));
  const conn = mockConnection(frames$);
  const limits = { ...defaultLimits, ...env.options.limits };
  const served$ = runDevice(env.device, of(conn), { io: env.io, limits, timeoutMs: 0 });
  const isOwnVersion = (m: OutgoingMessage) => m.id === versionFrame.header.id && m.command === Command.VERSION;
  // A DMA request is reported before its answer goes back: the device may go on at once (its next
  // DMA included) while the answer is delivered.
  const answer = (m: OutgoingMessage): Observable<DeviceOutput | undefined> => {
    const dma = answerDma(m, env.memory, env.options.dmaWriteReply ?? 'header');
    if (!dma) return of(isOwnVersion(m) ? undefined : replyOutput(m));
    return concat(of(dma.output), defer(() => (loop.next(dma.reply), EMPTY)));
  };
  const outputs$ = merge(conn.sent$.pipe(mergeMap(answer)), env.io.signals$.pipe(map((fd) => irqOutput(env.labels, fd)))).pipe(
    filter((o): o is DeviceOutput => o !== undefined),
  );
  return { conn, served$, outputs$, start };
};

const runOn =
  (env: BedEnv) =>
  (input$: Observable<Frame>, runOptions: RunOptions = {}): Observable<DeviceOutput> =>
    new Observable<DeviceOutput>((subscriber) => {
      const { served$, outputs$, start } = drive(env, input$, runOptions, new Subject<never>());
      const subscription: Subscription = outputs$.subscribe(subscriber);
      subscription.add(served$.subscribe({ error: (err: unknown) => subscriber.error(err) }));
      start.next();
      return subscription;
    });

const isReplyTo = (frame: Frame) => (m: OutgoingMessage) =>
  m.id === frame.header.id && m.command === frame.header.command && (m.flags & HeaderFlags.TYPE_MASK) === MessageType.REPLY;

const openOn =
  (env: BedEnv) =>
  (runOptions: RunOptions = {}): MockSession => {
    const input = new Subject<Frame>();
    const hangUp = new Subject<void>();
    const { conn, served$, outputs$, start } = drive(env, input, runOptions, hangUp);
    const outputs: DeviceOutput[] = [];
    const subscription = outputs$.subscribe((o) => outputs.push(o));
    subscription.add(served$.subscribe());
    start.next();
    const send = (frame: Frame): Promise<Frame> =>
      new Promise((resolve) => {
        subscription.add(conn.sent$.pipe(filter(isReplyTo(frame)), take(1)).subscribe((m) => resolve(asFrame(m))));
        input.next(frame);
      });
    return { send, post: (frame) => input.next(frame), outputs, sent: conn.sent, hangUp: () => hangUp.next(), stop: () => subscription.unsubscribe() };
  };

/** Creates a test bed for `device`. */
export const testBed = (device: PciDevice, options: TestBedOptions = {}): TestBed => {
  const io = fakeIo();
  const memory = options.memory ?? Buffer.alloc(64 * 1024);
  const memoryFd = io.file(memory);
  const labels = new Map<number, IrqLabel>();
  const env: BedEnv = { device, io, memory, req: requests(), options, labels };
  const irqs = (type: IrqType, start: number, count: number, action: IrqLabel['action'] = 'trigger'): Frame => {
    const fds = Array.from({ length: count }, (_, i) => {
      const fd = io.eventfd();
      labels.set(fd, { type, vector: start + i, action });
      return fd;
    });
    const flags = IrqSetFlags.DATA_EVENTFD | ACTION_FLAGS[action];
    return env.req.setIrqs({ flags, index: irqTypes.indexOf(type), start, count }, { fds });
  };
  const mapDma = (iova: number, size: number, mode: 'fd' | 'message', flags: number = DmaMapFlags.READ | DmaMapFlags.WRITE): Frame =>
    mode === 'fd'
      ? env.req.dmaMap({ address: iova, size, flags, offset: iova }, { fds: [io.dup(memoryFd)] })
      : env.req.dmaMap({ address: iova, size, flags });
  return { io, memory, req: env.req, map: mapDma, irqs, run: runOn(env), open: openOn(env) };
};
