/**
 * Buffers of large incoming messages, kept for reuse. A fresh 1 MiB buffer per message costs
 * page faults on first touch and, through V8's external-memory accounting, frequent garbage
 * collections: far more than the copies around it. Consumers that are done with a frame as soon as
 * they have it (DMA data copied into place) hand its buffer back with `Frame.release`.
 */

/** A pool of message buffers. */
export interface FramePool {
  /** A buffer of exactly `size` bytes (a view of a kept buffer when one is large enough), and how to give it back. */
  take(size: number): { readonly buffer: Buffer; readonly release: () => void };
  /** Buffers kept now. */
  readonly kept: number;
}

/**
 * Creates a pool keeping at most `keep` buffers. A buffer comes back at most once however often
 * its release is called, and one given back while the pool is full is left to the collector.
 */
export const framePool = (keep = 2): FramePool => {
  const free: Buffer[] = [];
  const take = (size: number) => {
    const at = free.findIndex((b) => b.length >= size);
    const whole = at >= 0 ? free.splice(at, 1)[0]! : Buffer.allocUnsafeSlow(size);
    let given = false;
    const release = () => {
      if (given) return;
      given = true;
      if (free.length < keep) free.push(whole);
    };
    return { buffer: whole.length === size ? whole : whole.subarray(0, size), release };
  };
  return {
    take,
    get kept() {
      return free.length;
    },
  };
};
