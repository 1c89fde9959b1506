// The global Buffer of an ES module is a getter on globalThis, paid at every use: these run per message.
import { Buffer } from 'node:buffer';
import { Observable, asapScheduler, type MonoTypeOperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import { Command, HeaderFlags, MessageType, WRITE_MULTI_DATA_MAX, WRITE_MULTI_MAX } from '../protocol/constants.js';
import { REGION_ACCESS_SIZE, decodeRegionWriteRequest } from '../protocol/region-access.js';
import { finishWriteMulti, putWriteMultiEntry, writeMultiSize } from '../protocol/write-multi.js';
import type { OutgoingMessage } from '../protocol/frame.js';

/** Options of writeMulti. */
export interface WriteMultiOptions {
  /**
   * Whether a posted write that could be coalesced should be held now, e.g. while the socket
   * backs up. Once one write is held, every later candidate joins it (order is kept).
   */
  readonly shouldHold: (message: OutgoingMessage) => boolean;
  /** Held writes go out at the latest when this scheduler next runs (default asap: end of the turn). */
  readonly scheduler?: SchedulerLike;
  /** Entries per REGION_WRITE_MULTI (default and maximum 200, QEMU's VFIO_USER_MULTI_MAX). */
  readonly maxEntries?: number;
}

const lengthOf = (payload: OutgoingMessage['payload']): number =>
  payload === undefined ? 0 : Buffer.isBuffer(payload) ? payload.length : payload.reduce((n, b) => n + b.length, 0);

/** Whether a message is a posted REGION_WRITE of at most 8 bytes without fds. */
export const isCoalescible = (m: OutgoingMessage): boolean =>
  m.command === Command.REGION_WRITE &&
  (m.flags & HeaderFlags.NO_REPLY) !== 0 &&
  (m.fds?.length ?? 0) === 0 &&
  lengthOf(m.payload) - REGION_ACCESS_SIZE <= WRITE_MULTI_DATA_MAX;

/**
 * The payload of a coalescible REGION_WRITE as one buffer, or undefined when it cannot become an
 * entry (it then passes unchanged, as any other message). A single buffer is the sender's own
 * encoding and is used as it is; a payload in pieces goes through the checked decoder.
 */
const writeOf = (m: OutgoingMessage): Buffer | undefined => {
  const p = m.payload;
  if (Buffer.isBuffer(p)) return p.length >= REGION_ACCESS_SIZE ? p : undefined;
  const joined = Buffer.concat(p ?? []);
  try {
    decodeRegionWriteRequest(joined);
  } catch {
    return undefined;
  }
  return joined;
};

/** The hold-and-release state of writeMulti, for a sender that is not a stream. */
export interface WriteHolder {
  /** Holds `m` (true), or releases what is held and leaves `m` to the caller to send (false). */
  offer(m: OutgoingMessage): boolean;
  /** Emits what is held now, as one message. */
  release(): void;
  /** Drops what is held without emitting it and stops the timer (on unsubscribe). */
  dispose(): void;
}

/**
 * Creates the state behind writeMulti: `emit` receives each released message. Once one write is
 * held every later candidate joins it; held writes leave before any other message, when 200 are
 * held, or when the scheduler next runs.
 */
export const writeHolder = (options: WriteMultiOptions, emit: (m: OutgoingMessage) => void): WriteHolder => {
  const scheduler = options.scheduler ?? asapScheduler;
  const max = Math.min(options.maxEntries ?? WRITE_MULTI_MAX, WRITE_MULTI_MAX);
  // The first held write (it leaves as it was when alone) and the REGION_WRITE_MULTI being built:
  // each held write becomes its entry at once, so holding one makes nothing of its own.
  let first: OutgoingMessage | undefined;
  let entries: Buffer | undefined;
  let count = 0;
  let timer: Subscription | undefined;
  const release = () => {
    timer?.unsubscribe();
    timer = undefined;
    if (count === 0) return;
    const out: OutgoingMessage =
      count === 1
        ? first!
        : // No reply ever comes for it, so the id of its first write serves.
          { id: first!.id, command: Command.REGION_WRITE_MULTI, flags: MessageType.COMMAND | HeaderFlags.NO_REPLY, payload: finishWriteMulti(entries!, count) };
    first = undefined;
    entries = undefined;
    count = 0;
    emit(out);
  };
  const offer = (m: OutgoingMessage): boolean => {
    const write = isCoalescible(m) ? writeOf(m) : undefined;
    if (write === undefined || (count === 0 && !options.shouldHold(m))) {
      release();
      return false;
    }
    if (count === 0) {
      first = m;
      // Sent on, so never reused: a new one for each REGION_WRITE_MULTI.
      entries = Buffer.allocUnsafe(writeMultiSize(max));
    }
    putWriteMultiEntry(entries!, count++, write);
    if (count >= max) release();
    else timer ??= scheduler.schedule(release);
    return true;
  };
  const dispose = () => {
    timer?.unsubscribe();
    timer = undefined;
    first = undefined;
    entries = undefined;
    count = 0;
  };
  return { offer, release, dispose };
};

/**
 * Coalesces small posted REGION_WRITEs into REGION_WRITE_MULTI while `shouldHold` says the
 * outgoing queue backs up. Held writes leave before any other message (the server runs commands
 * in order, so order must not change), when 200 are held, at the scheduler's next turn, or when
 * the source completes. Only for a server that offered `write_multiple`.
 *
 * ```
 * messages: --w-w-w-r---|      (w posted writes held, r a read)
 * output:   --------(Mr)|      M = REGION_WRITE_MULTI of the three writes
 * ```
 */
export const writeMulti = (options: WriteMultiOptions): MonoTypeOperatorFunction<OutgoingMessage> => (source) =>
  new Observable<OutgoingMessage>((subscriber) => {
    const holder = writeHolder(options, (m) => subscriber.next(m));
    const sub = source.subscribe({
      next: (m) => {
        if (!holder.offer(m)) subscriber.next(m);
      },
      error: (err) => {
        holder.release();
        subscriber.error(err);
      },
      complete: () => {
        holder.release();
        subscriber.complete();
      },
    });
    return () => {
      sub.unsubscribe();
      holder.dispose();
    };
  });
