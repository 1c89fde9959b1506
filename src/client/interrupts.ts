import {
  BehaviorSubject,
  EMPTY,
  Subject,
  catchError,
  concat,
  concatMap,
  defer,
  finalize,
  from,
  identity,
  ignoreElements,
  map,
  merge,
  mergeMap,
  of,
  scan,
  switchMap,
  tap,
  type Observable,
} from 'rxjs';
import { SCM_MAX_FD } from '../native/index.js';
import type { Native } from '../native/types.js';
import { splitTransfer } from '../operators/chunk-transfers.js';
import { IrqInfoFlags, PciIrq, type IrqIndex } from '../protocol/constants.js';
import { ClosedError, LimitError } from '../protocol/errors.js';
import type { IrqInfo } from '../protocol/irq.js';
import { eventfd$ } from '../streams/eventfd.js';
import type { Wire } from './call.js';
import { emptyIrqState, irqIndex, irqTypeOf, reduceIrqs, type IrqEvent, type IrqState, type IrqType } from './irq-state.js';
import { irqCommands, type IrqCommandSet, type IrqCommands } from './irq-commands.js';

/** One interrupt received: which vector of which type, and how many signals merged into it. */
export interface InterruptSignal {
  readonly index: IrqIndex;
  readonly type: IrqType;
  readonly vector: number;
  /** Signals counted by the eventfd since it was last read. */
  readonly count: bigint;
  /** Acknowledges it: unmasks an automasked vector (INTx); completes at once for the others. */
  ack(): Observable<never>;
}

/** Interrupt delivery of a device: eventfds given to the server, their signals as one stream. */
export interface Interrupts extends IrqCommands {
  /** Signals of every enabled vector. Completes on close; errors with the cause when the connection ends. */
  readonly interrupts$: Observable<InterruptSignal>;
  /** Creates `count` eventfds (default: all vectors) and hands them over with SET_IRQS in max_msg_fds chunks. */
  enable(type: IrqType, count?: number): Observable<never>;
  /** Disables every vector of a type (DATA_NONE|TRIGGER, start = count = 0) and closes its eventfds. */
  disable(type: IrqType): Observable<never>;
  /** Disables every enabled type (best effort), closes every eventfd and completes interrupts$. */
  close$(): Observable<never>;
  /** The connection ended: closes every eventfd and errors interrupts$ with `cause`. */
  end(cause: Error): void;
  /** Hands every enabled vector's eventfd over again, on `wire` (a server reached again after a reconnect). */
  replay$(wire: Wire): Observable<never>;
}

/** What interrupt delivery needs. */
export interface InterruptsContext {
  readonly wire: Wire;
  readonly irqs: readonly IrqInfo[];
  /** The server's max_msg_fds. */
  readonly maxMsgFds: number;
  readonly native: Native;
  readonly autoAck: boolean;
}

const automasked = (index: IrqIndex, info: IrqInfo | undefined) =>
  index === PciIrq.INTX || ((info?.flags ?? 0) & IrqInfoFlags.AUTOMASKED) !== 0;

const closeAll = (native: Native, fds: readonly number[]) => fds.forEach((fd) => native.close(fd));

/**
 * The signals of the eventfd set as it changes. switchMap stops the old watchers before the new
 * inner closes the fds the last change released, so no watcher outlives its fd.
 */
const signals$ = (ctx: InterruptsContext, commands: IrqCommandSet, state$: Observable<IrqState>): Observable<InterruptSignal> => {
  const signal = (index: IrqIndex, vector: number, count: bigint): InterruptSignal => ({
    index,
    type: irqTypeOf(index),
    vector,
    count,
    ack: () => (automasked(index, ctx.irqs[index]) ? commands.unmask(irqTypeOf(index), vector, 1) : EMPTY),
  });
  const watch = (table: IrqState['table']) =>
    merge(...[...table].flatMap(([index, fds]) => fds.map((fd, v) => eventfd$(ctx.native, fd).pipe(map((n) => signal(index, v, n))))));
  const release = (fds: readonly number[]) => defer(() => (closeAll(ctx.native, fds), EMPTY));
  return state$.pipe(
    switchMap((s) => merge(release(s.released), watch(s.table))),
    ctx.autoAck ? mergeMap((sig: InterruptSignal) => concat(of(sig), sig.ack())) : identity,
  );
};

/** `n` new eventfds; when one cannot be made (EMFILE), those made before it are closed and the error thrown. */
const eventfds = (native: Native, n: number): number[] => {
  const fds: number[] = [];
  try {
    for (let i = 0; i < n; i++) fds.push(native.eventfd());
    return fds;
  } catch (err) {
    closeAll(native, fds);
    throw err;
  }
};

/** Creates eventfds for `count` vectors and assigns them in max_msg_fds chunks; emits the fds once all are in. */
const assignVectors$ = (ctx: InterruptsContext, commands: IrqCommandSet, type: IrqType, count?: number) =>
  defer(() => {
    const { index, info } = commands.infoOf(type);
    const n = count ?? info.count;
    if (!Number.isInteger(n) || n < 1 || n > info.count) throw new RangeError(`${type}: ${n} vectors, the device has ${info.count}`);
    if ((info.flags & IrqInfoFlags.EVENTFD) === 0) commands.unsupported(type, 'eventfd signalling');
    if (ctx.maxMsgFds < 1) throw new LimitError(`${type}: the server accepts no fds (max_msg_fds 0)`);
    const fds = eventfds(ctx.native, n);
    let handed = false;
    const chunks = splitTransfer({ offset: 0, count: n }, Math.min(ctx.maxMsgFds, SCM_MAX_FD));
    return concat(
      from(chunks).pipe(concatMap((c) => commands.assign(index, c.offset, fds.slice(c.offset, c.offset + c.count)))),
      defer(() => ((handed = true), of({ index, fds }))),
    ).pipe(finalize(() => handed || closeAll(ctx.native, fds)));
  });

/** Creates interrupt delivery; its eventfd set is a fold (scan) over enable/disable events. */
export const interrupts = (ctx: InterruptsContext): Interrupts => {
  const commands = irqCommands(ctx.wire, ctx.irqs);
  const events = new Subject<IrqEvent>();
  const state = new BehaviorSubject<IrqState>(emptyIrqState);
  const out = new Subject<InterruptSignal>();
  events.pipe(scan(reduceIrqs, emptyIrqState)).subscribe(state);
  signals$(ctx, commands, state).subscribe(out);
  // After the end an event would be lost, so whatever it carries is released here instead.
  const apply = (e: IrqEvent & { type: 'set' }) => (events.closed ? closeAll(ctx.native, e.fds) : events.next(e));
  const stop = (last: () => void) => {
    if (events.closed) return;
    events.next({ type: 'clearAll' });
    last();
    events.unsubscribe();
  };
  return {
    mask: commands.mask,
    unmask: commands.unmask,
    trigger: commands.trigger,
    interrupts$: out.asObservable(),
    enable: (type, count) =>
      defer(() => {
        if (events.closed) throw new ClosedError('device is closed');
        return assignVectors$(ctx, commands, type, count);
      }).pipe(tap(({ index, fds }) => apply({ type: 'set', index, fds })), ignoreElements()),
    disable: (type) =>
      defer(() => commands.disableIndex(commands.infoOf(type).index)).pipe(
        tap({ complete: () => events.closed || events.next({ type: 'clear', index: irqIndex[type] }) }),
      ),
    close$: () =>
      defer(() => {
        if (events.closed) return EMPTY;
        const disables = [...state.value.table.keys()].map((index) => commands.disableIndex(index).pipe(catchError(() => EMPTY)));
        return concat(...disables, defer(() => (stop(() => events.complete()), EMPTY)));
      }).pipe(ignoreElements()),
    end: (cause) => stop(() => events.error(cause)),
    replay$: (wire) =>
      defer(() => {
        const again = irqCommands(wire, ctx.irqs);
        const chunk = Math.min(ctx.maxMsgFds, SCM_MAX_FD);
        return from([...state.value.table]).pipe(
          concatMap(([index, fds]) =>
            from(splitTransfer({ offset: 0, count: fds.length }, chunk)).pipe(concatMap((c) => again.assign(index, c.offset, fds.slice(c.offset, c.offset + c.count)))),
          ),
        );
      }).pipe(ignoreElements()),
  };
};
