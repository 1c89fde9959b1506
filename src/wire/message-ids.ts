import { LimitError } from '../protocol/errors.js';

/**
 * The 16-bit message ids of one side's requests: which wait for a reply (with what), and which
 * are quarantined. An id timed out or cancelled stays out of use until its late reply arrives or
 * `quarantine` newer ones have been retired, so a late reply never reaches a newer request.
 * Lookups are one Map access, so a reply costs O(1) even with thousands in flight.
 */
export interface MessageIds<T> {
  /** A free id: neither waiting nor quarantined. Throws LimitError when all 65536 are taken. */
  next(): number;
  /** Marks `id` as waiting, with `entry`. */
  wait(id: number, entry: T): void;
  /** What waits on `id`, if anything. */
  get(id: number): T | undefined;
  /** Ends the wait on `id` and frees it at once (its reply came, or its request was never sent). */
  free(id: number): void;
  /** Ends the wait on `id` and quarantines it: a reply may still come for it. */
  retire(id: number): void;
  /** A reply for `id` matched nothing: if it was quarantined, it is free again. */
  unmatched(id: number): void;
  /** Ends every wait; returns what waited. */
  drain(): T[];
  /** How many wait. */
  readonly waiting: number;
}

export const messageIds = <T>(quarantine = 1024): MessageIds<T> => {
  const waiting = new Map<number, T>();
  const quarantined = new Set<number>();
  let nextId = 0;
  return {
    next: () => {
      // Every id taken: said at once rather than after 65,536 probes.
      if (waiting.size + quarantined.size >= 0x10000) throw new LimitError('no free message id: 65536 requests in flight');
      for (let tries = 0; tries < 0x10000; tries++) {
        const id = nextId;
        nextId = (nextId + 1) & 0xffff;
        if (!waiting.has(id) && !quarantined.has(id)) return id;
      }
      throw new LimitError('no free message id: 65536 requests in flight');
    },
    wait: (id, entry) => void waiting.set(id, entry),
    get: (id) => waiting.get(id),
    free: (id) => void waiting.delete(id),
    retire: (id) => {
      waiting.delete(id);
      quarantined.add(id);
      if (quarantined.size > quarantine) quarantined.delete(quarantined.values().next().value!);
    },
    unmatched: (id) => void quarantined.delete(id),
    drain: () => {
      const all = [...waiting.values()];
      waiting.clear();
      return all;
    },
    get waiting() {
      return waiting.size;
    },
  };
};
