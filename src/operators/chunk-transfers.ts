import { from, mergeMap, type OperatorFunction } from 'rxjs';

/** A byte range of a transfer: `count` bytes from `offset`. */
export interface Transfer {
  readonly offset: number;
  readonly count: number;
}

/**
 * Splits a range into consecutive pieces of at most `max` bytes (the last one may be shorter).
 * A zero-length range stays one zero-length piece, so the request is still sent.
 */
export const splitTransfer = (transfer: Transfer, max: number): Transfer[] => {
  if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`chunk size ${max} is not a positive integer`);
  if (transfer.count === 0) return [transfer];
  const pieces: Transfer[] = [];
  for (let done = 0; done < transfer.count; done += max) {
    pieces.push({ offset: transfer.offset + done, count: Math.min(max, transfer.count - done) });
  }
  return pieces;
};

/**
 * Splits each transfer into pieces of at most `max` bytes (a peer's max_data_xfer_size, or a
 * request-body bound), in order.
 *
 * ```
 * transfers: --{0,10}------|        chunkTransfers(4)
 * pieces:    --(abc)-------|        a={0,4} b={4,4} c={8,2}
 * ```
 */
export const chunkTransfers = <T extends Transfer>(max: number): OperatorFunction<T, Transfer> =>
  mergeMap((t: T) => from(splitTransfer(t, max)));
