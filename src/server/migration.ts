/**
 * Live migration, server side (VFIO migration v2 over DEVICE_FEATURE and MIG_DATA_*): the device
 * state machine as a pure function, the state the fold carries, and the device's data stream.
 */
import { EMPTY, Observable, defer, isObservable, of, type Subscription } from 'rxjs';
import { Command, DeviceState as MigState, deviceStateName } from '../protocol/constants.js';
import { Errno } from '../protocol/errno.js';
import { DeviceError } from './errors.js';
import type { DeviceContext, MigrationHooks, MigrationPhase } from './types.js';

/** A migration device state (`DeviceState` of linux/vfio.h: ERROR 0 ... PRE_COPY_P2P 7). */
export type MigrationDeviceState = (typeof MigState)[keyof typeof MigState];

/** The name of a device state, or `state N` for a number that is none. */
export const migStateName = deviceStateName;

/** The direct arcs a server implements (the spec's table); P2P states are not supported. */
const ARCS: Readonly<Record<number, readonly number[]>> = {
  [MigState.RUNNING]: [MigState.STOP, MigState.PRE_COPY],
  [MigState.STOP]: [MigState.RUNNING, MigState.STOP_COPY, MigState.RESUMING],
  [MigState.STOP_COPY]: [MigState.STOP],
  [MigState.RESUMING]: [MigState.STOP],
  [MigState.PRE_COPY]: [MigState.RUNNING, MigState.STOP_COPY],
};

const saving = (s: number): boolean => s === MigState.PRE_COPY || s === MigState.STOP_COPY;

/**
 * The arcs from `from` to `to`, in order (empty when they are equal), or undefined when `to`
 * cannot be reached: the shortest chain of direct arcs that passes through no saving state
 * (PRE_COPY, STOP_COPY) on the way, without PRE_COPY when the device does not support it.
 * ERROR can be neither requested nor left (only a reset leaves it); P2P states are unsupported.
 */
export const migrationPath = (from: number, to: number, preCopy: boolean): readonly number[] | undefined => {
  const usable = (s: number) => ARCS[s] !== undefined && (preCopy || s !== MigState.PRE_COPY);
  if (!usable(from) || !usable(to)) return undefined;
  if (from === to) return [];
  // The one arc the kernel forbids outright (a stopped device cannot resume pre-copy).
  if (from === MigState.STOP_COPY && to === MigState.PRE_COPY) return undefined;
  // Breadth first over at most five states: the first path found is a shortest one.
  const queue: (readonly number[])[] = [[from]];
  const seen = new Set([from]);
  while (queue.length > 0) {
    const path = queue.shift()!;
    const at = path[path.length - 1]!;
    if (path.length > 1 && saving(at)) continue; // a saving state may only end a path
    for (const next of ARCS[at]!) {
      if (!usable(next) || seen.has(next)) continue;
      const longer = [...path, next];
      if (next === to) return longer.slice(1);
      seen.add(next);
      queue.push(longer);
    }
  }
  return undefined;
};

/**
 * The device's outgoing data while saving: the chunks its save stream produced and not yet read,
 * and whether the stream has ended. Mutable, as a socket buffer is: chunks arrive when the
 * device's stream emits them, and MIG_DATA_READ takes them; the fold holds the object.
 */
export class SaveStream {
  private readonly chunks: Buffer[] = [];
  private head = 0; // bytes of chunks[0] already read
  private source: Subscription | undefined;
  private waiters: (() => void)[] = [];
  /** Whether the current phase's stream has ended (nothing more comes in this phase). */
  ended = false;
  error: unknown = undefined;

  /** Follows the device's stream of a phase (replacing an unfinished one); records are framed by `frame`. */
  follow(chunks$: Observable<Buffer>, frame: (chunk: Buffer) => Buffer): void {
    this.source?.unsubscribe();
    this.ended = false;
    this.source = chunks$.subscribe({
      next: (chunk) => {
        if (chunk.length > 0) this.chunks.push(frame(Buffer.from(chunk)));
        this.wake();
      },
      error: (err: unknown) => {
        this.error = err;
        this.ended = true;
        this.wake();
      },
      complete: () => {
        this.ended = true;
        this.wake();
      },
    });
  }

  /** Adds bytes of the framework's own (already framed). */
  push(bytes: Buffer): void {
    if (bytes.length > 0) this.chunks.push(bytes);
  }

  /** Bytes ready to read now. */
  get available(): number {
    let n = -this.head;
    for (const c of this.chunks) n += c.length;
    return n;
  }

  /** Takes up to `size` bytes of what is ready (fewer, maybe none, when less is). */
  take(size: number): Buffer {
    const out: Buffer[] = [];
    let want = size;
    while (want > 0 && this.chunks.length > 0) {
      const c = this.chunks[0]!;
      const piece = c.subarray(this.head, this.head + want);
      out.push(piece);
      want -= piece.length;
      this.head += piece.length;
      if (this.head === c.length) {
        this.chunks.shift();
        this.head = 0;
      }
    }
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }

  /** Completes when `size` bytes are ready or the phase's stream has ended. */
  ready(size: number): Observable<void> {
    return new Observable<void>((subscriber) => {
      const check = () => {
        if (this.available < size && !this.ended) return false;
        subscriber.next();
        subscriber.complete();
        return true;
      };
      if (check()) return undefined;
      const waiter = () => {
        if (check()) this.waiters = this.waiters.filter((w) => w !== waiter);
      };
      this.waiters.push(waiter);
      return () => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
      };
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Stops following the device's stream and drops what was not read. */
  close(): void {
    this.source?.unsubscribe();
    this.source = undefined;
    this.chunks.length = 0;
    this.head = 0;
    this.ended = true;
    this.wake();
  }
}

/** Where migration stands: the device state, the outgoing stream while saving, the incoming data while resuming. */
export interface MigrationState {
  readonly state: MigrationDeviceState;
  readonly save?: SaveStream;
  /** Chunks received by MIG_DATA_WRITE in RESUMING (each a copy of its own). */
  readonly incoming?: readonly Buffer[];
}

/** A device at RUNNING, nothing in flight. */
export const runningMigration: MigrationState = { state: MigState.RUNNING };

// The framework's record framing of the data stream (unless the device asks for a raw stream):
// a tag byte and a u32 length before each record, so one stream carries the device's chunks and the
// framework's own state (config space, MSI-X table, RAM-backed regions).
export const RecordTag = { DEVICE: 1, CONFIG: 2, MSIX_TABLE: 3, RAM: 4 } as const;

/** One record of the stream. */
export const record = (tag: number, body: Buffer): Buffer => {
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = tag;
  out.writeUInt32LE(body.length, 1);
  body.copy(out, 5);
  return out;
};

/** The records of a stream, in order; EINVAL (DeviceError) for a truncated one or an unknown tag. */
export const parseRecords = (data: Buffer): { readonly tag: number; readonly body: Buffer }[] => {
  const out: { tag: number; body: Buffer }[] = [];
  let at = 0;
  while (at < data.length) {
    if (data.length - at < 5) throw new DeviceError(Errno.EINVAL, `migration data: a truncated record header at byte ${at}`);
    const tag = data[at]!;
    const length = data.readUInt32LE(at + 1);
    if (!Object.values(RecordTag).includes(tag as 1)) throw new DeviceError(Errno.EINVAL, `migration data: unknown record tag ${tag} at byte ${at}`);
    if (data.length - at - 5 < length) throw new DeviceError(Errno.EINVAL, `migration data: a record of ${length} bytes at byte ${at} is truncated`);
    out.push({ tag, body: data.subarray(at + 5, at + 5 + length) });
    at += 5 + length;
  }
  return out;
};

/** The device's save stream of a phase as an Observable of chunks (nothing when it has no hook). */
export const deviceChunks = (hooks: MigrationHooks | undefined, phase: MigrationPhase, ctx: DeviceContext): Observable<Buffer> =>
  defer(() => {
    const out = hooks?.save?.(phase, ctx);
    if (out === undefined) return EMPTY;
    return isObservable(out) ? out : of(out);
  });

/** Runs a device hook that may return an Observable; completes when it is done. */
export const runHook = (hook: (() => void | Observable<unknown>) | undefined): Observable<void> =>
  defer(() => {
    const out = hook?.();
    return isObservable(out) ? new Observable<void>((s) => out.subscribe({ error: (e: unknown) => s.error(e), complete: () => (s.next(), s.complete()) })) : of(undefined);
  });

/** Commands that change nothing of the device, or only the client's side of it: accepted in every state. */
const ALWAYS = new Set<number>([
  Command.DEVICE_FEATURE,
  Command.MIG_DATA_READ,
  Command.DEVICE_RESET,
  Command.DEVICE_GET_INFO,
  Command.DEVICE_GET_REGION_INFO,
  Command.DEVICE_GET_REGION_IO_FDS,
  Command.DEVICE_GET_IRQ_INFO,
  Command.DMA_MAP,
  Command.DMA_UNMAP,
]);

/**
 * Whether a command may run in a migration state. In STOP and STOP_COPY the device does not run:
 * SET_IRQS is EINVAL, and in STOP_COPY region accesses too, as in
 * libvfio-user. Unlike libvfio-user, the commands that only read what the device is (GET_INFO and
 * friends) and the client's DMA_MAP / DMA_UNMAP stay accepted, so a client can still open (or
 * close) a stopped device; DEVICE_RESET is the way out of any state.
 */
export const commandAllowed = (migState: number, command: number): boolean => {
  if (migState !== MigState.STOP && migState !== MigState.STOP_COPY) return true;
  if (ALWAYS.has(command)) return true;
  return migState === MigState.STOP && (command === Command.REGION_READ || command === Command.REGION_WRITE || command === Command.REGION_WRITE_MULTI);
};
