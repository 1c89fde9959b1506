/**
 * Queues in guest memory, as NVMe and most DMA engines have them: a ring of fixed-size entries at
 * an IOVA, a head the consumer advances and a tail the producer advances, each side telling the
 * other through a doorbell register. The ring is a value (its position), and the guest memory
 * accesses are the device context's, through the mapping or by message alike.
 */
import { concat, defer, map, of, reduce, type Observable } from 'rxjs';
import type { GuestMemory } from './types.js';

/** Where a ring lives and what it holds. */
export interface RingLayout {
  /** IOVA of entry 0. */
  readonly base: number;
  /** Number of entries (a ring of n entries holds at most n - 1 at once: head = tail means empty). */
  readonly entries: number;
  /** Bytes per entry. */
  readonly entrySize: number;
}

/** A ring and its position: the next entry to consume (head) and the next to produce (tail). */
export interface Ring extends RingLayout {
  readonly head: number;
  readonly tail: number;
  /**
   * Times the tail has wrapped to entry 0, starting at 0: a completion ring's phase tag is
   * `(wraps & 1) === 0 ? 1 : 0` for the entries the device writes (NVMe's convention).
   */
  readonly wraps: number;
}

/** A new, empty ring; RangeError for a layout no queue can have. */
export const ring = (layout: RingLayout): Ring => {
  const { base, entries, entrySize } = layout;
  if (!Number.isSafeInteger(base) || base < 0) throw new RangeError(`ring base ${base}`);
  if (!Number.isInteger(entries) || entries < 2) throw new RangeError(`a ring needs at least 2 entries, not ${entries}`);
  if (!Number.isInteger(entrySize) || entrySize < 1) throw new RangeError(`entry size ${entrySize}`);
  return { base, entries, entrySize, head: 0, tail: 0, wraps: 0 };
};

/** Entries between head and tail. */
export const ringCount = (r: Ring): number => (r.tail - r.head + r.entries) % r.entries;

/** Whether the producer may add one more entry. */
export const ringFull = (r: Ring): boolean => ringCount(r) === r.entries - 1;

/** The IOVA of entry `index`. */
export const entryAddress = (r: RingLayout, index: number): number => r.base + index * r.entrySize;

/**
 * The producer's doorbell: the new tail it wrote. A value outside the ring is refused (RangeError):
 * a device reports such a doorbell as the driver's error instead of reading beyond the queue.
 */
export const ringTail = (r: Ring, tail: number): Ring => {
  if (!Number.isInteger(tail) || tail < 0 || tail >= r.entries) throw new RangeError(`tail ${tail} is outside a ring of ${r.entries}`);
  return { ...r, tail, wraps: tail < r.tail ? r.wraps + 1 : r.wraps };
};

/** The consumer's doorbell: the new head it wrote (RangeError outside the ring). */
export const ringHead = (r: Ring, head: number): Ring => {
  if (!Number.isInteger(head) || head < 0 || head >= r.entries) throw new RangeError(`head ${head} is outside a ring of ${r.entries}`);
  return { ...r, head };
};

/** Contiguous runs of entries from `from` for `count` entries: one, or two when it wraps. */
const spans = (r: RingLayout, from: number, count: number): { index: number; count: number }[] => {
  const first = Math.min(count, r.entries - from);
  return first === count ? [{ index: from, count }] : [{ index: from, count: first }, { index: 0, count: count - first }];
};

/**
 * The entries between head and tail, read from guest memory (one read per contiguous run), and the
 * ring with its head moved past them: what a device does on a submission doorbell.
 */
export const consume = (memory: GuestMemory, r: Ring): Observable<{ readonly ring: Ring; readonly entries: readonly Buffer[] }> =>
  defer(() => {
    const count = ringCount(r);
    if (count === 0) return of({ ring: r, entries: [] as readonly Buffer[] });
    return concat(...spans(r, r.head, count).map((s) => memory.read(entryAddress(r, s.index), s.count * r.entrySize))).pipe(
      reduce((all: Buffer[], run) => {
        for (let at = 0; at < run.length; at += r.entrySize) all.push(run.subarray(at, at + r.entrySize));
        return all;
      }, []),
      map((entries) => ({ ring: { ...r, head: r.tail }, entries })),
    );
  });

/**
 * Writes `entry` at the tail and moves the tail on (wrapping, counting the wrap): what a device
 * does to post a completion. A full ring is refused (RangeError): the consumer has not moved its
 * head, and an entry written now would overwrite one it has not read.
 */
export const produce = (memory: GuestMemory, r: Ring, entry: Buffer): Observable<Ring> =>
  defer(() => {
    if (entry.length !== r.entrySize) throw new RangeError(`an entry of ${entry.length} bytes for a ring of ${r.entrySize}-byte entries`);
    if (ringFull(r)) throw new RangeError('the ring is full');
    const tail = (r.tail + 1) % r.entries;
    return memory.write(entryAddress(r, r.tail), entry).pipe(map(() => ({ ...r, tail, wraps: tail === 0 ? r.wraps + 1 : r.wraps })));
  });

/** The phase tag of the entries the device writes now (NVMe: 1 on the first pass, flipping each wrap). */
export const phaseTag = (r: Ring): 0 | 1 => ((r.wraps & 1) === 0 ? 1 : 0);
