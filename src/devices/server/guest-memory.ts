/**
 * Device access to guest memory by IOVA: through our mmap of the client's fd when it sent one,
 * by DMA_READ/DMA_WRITE requests otherwise, chunked by the client's max_data_xfer_size.
 */
import { Observable, catchError, concatMap, defer, from, ignoreElements, map, of, range, take, throwError, toArray, type OperatorFunction } from 'rxjs';
import { Command } from '../../protocol/constants.js';
import {
  decodeDmaReadReply,
  decodeDmaWriteReply,
  dmaWriteRequestPieces,
  encodeDmaReadRequest,
  encodeDmaWriteRequest,
} from '../../protocol/dma-access.js';
import { Errno } from '../../protocol/errno.js';
import { ReplyTimeoutError } from '../../protocol/errors.js';
import { SEND_AT_ONCE_BYTES } from '../../streams/connection.js';
import { resolveRange, type DmaSegment } from './dma-table.js';
import { DmaError, errnoOf } from './errors.js';
import type { SessionLink, DeviceState } from './state.js';
import type { GuestMemory } from './types.js';
import { copyIn, copyOutInto } from './windows.js';

/** An access's failure as a DmaError (a timed-out request is ETIMEDOUT, anything else keeps its errno or is EIO). */
const toDmaError = (err: unknown, iova: number, length: number): DmaError => {
  if (err instanceof DmaError) return err;
  const errno = err instanceof ReplyTimeoutError ? Errno.ETIMEDOUT : errnoOf(err);
  return new DmaError(errno, iova, length, (err as Error)?.message ?? String(err), { cause: err });
};

const asDmaError =
  <T>(iova: number, length: number): OperatorFunction<T, T> =>
  (source) =>
    source.pipe(catchError((err: unknown) => throwError(() => toDmaError(err, iova, length))));
/** The session and the segments of an access, or a DmaError. */
const plan = (state: DeviceState, iova: number, length: number, access: 'read' | 'write'): { link: SessionLink; segments: DmaSegment[] } => {
  if (!Number.isSafeInteger(iova) || iova < 0 || !Number.isSafeInteger(iova + length)) {
    throw new DmaError(Errno.EINVAL, iova, length, 'not a valid address range');
  }
  const session = state.session;
  if (!session) throw new DmaError(Errno.EFAULT, iova, length, 'no client is connected');
  return { link: session.link, segments: resolveRange(session.mappings, iova, length, access) };
};

/** [address, count] pieces of at most `max` bytes covering [iova, iova + length). */
const chunks = (iova: number, length: number, max: number): Observable<{ address: number; count: number; at: number }> => {
  const size = Math.max(1, max);
  return range(0, Math.ceil(length / size)).pipe(
    map((i) => ({ address: iova + i * size, count: Math.min(size, length - i * size), at: i * size })),
  );
};

/**
 * Reads by DMA_READ requests, chunk by chunk, into `target` from `at`. Each reply is copied into
 * place as it comes and its buffer given back for the next reply to reuse.
 */
const readByMessageInto = (link: SessionLink, iova: number, length: number, target: Buffer, at: number): Observable<void> =>
  chunks(iova, length, link.client.max_data_xfer_size).pipe(
    concatMap((c) =>
      link.dma.request(Command.DMA_READ, encodeDmaReadRequest(c)).pipe(
        take(1),
        map((f) => {
          decodeDmaReadReply(f.payload, c).data?.copy(target, at + c.at);
          f.release?.();
        }),
      ),
    ),
    ignoreElements(),
  );

const writeByMessage = (link: SessionLink, iova: number, data: Buffer): Observable<void> =>
  chunks(iova, data.length, link.client.max_data_xfer_size).pipe(
    concatMap((c) => {
      const request = { address: c.address, data: data.subarray(c.at, c.at + c.count) };
      // A large chunk is sent from the device's buffer itself (written before request() returns).
      const payload = c.count >= SEND_AT_ONCE_BYTES ? dmaWriteRequestPieces(request) : encodeDmaWriteRequest(request);
      return link.dma.request(Command.DMA_WRITE, payload).pipe(
        take(1),
        map((f) => void decodeDmaWriteReply(f.payload, { address: c.address, count: c.count })),
      );
    }),
    toArray(),
    map(() => undefined),
  );

const writeSegment = (link: SessionLink, s: DmaSegment, data: Buffer): Observable<void> =>
  s.mapping.memory
    ? defer(() => of(copyIn(s.mapping.memory!, s.iova - s.mapping.iova, data)))
    : writeByMessage(link, s.iova, data);

const readSegmentInto = (link: SessionLink, s: DmaSegment, target: Buffer, at: number): Observable<void> =>
  s.mapping.memory
    ? defer(() => of(copyOutInto(s.mapping.memory!, s.iova - s.mapping.iova, target, at, s.length)))
    : readByMessageInto(link, s.iova, s.length, target, at);

/**
 * One kind of access (`A` is its argument: a length, a target, data): how it runs all at once when
 * every segment is mapped, and segment by segment otherwise. The kinds are module constants, so an
 * access creates no functions of its own.
 */
interface AccessKind<A, T> {
  readonly kind: 'read' | 'write';
  /** Every segment has our mapping: copies in place, synchronously. */
  mapped(segments: readonly DmaSegment[], iova: number, arg: A): T;
  /** Some segment goes by DMA_READ/DMA_WRITE messages: the segments in order. */
  segmented(link: SessionLink, segments: readonly DmaSegment[], iova: number, arg: A): Observable<T>;
}

const allMapped = (segments: readonly DmaSegment[]): boolean => segments.every((s) => s.mapping.memory !== undefined);

/**
 * An access against the state current when it is subscribed. When every byte is in our mappings
 * (the client sent fds) it is a few copies done on subscription, with no operator chain: devices
 * make many small accesses, and an access's Observable machinery would cost far more than its copy.
 */
const guestAccess = <A, T>(state: () => DeviceState, k: AccessKind<A, T>, iova: number, length: number, arg: A): Observable<T> =>
  new Observable<T>((subscriber) => {
    let planned: { link: SessionLink; segments: DmaSegment[] };
    try {
      planned = plan(state(), iova, length, k.kind);
      if (allMapped(planned.segments)) {
        const value = k.mapped(planned.segments, iova, arg);
        subscriber.next(value);
        subscriber.complete();
        return undefined;
      }
    } catch (err) {
      subscriber.error(toDmaError(err, iova, length));
      return undefined;
    }
    return k.segmented(planned.link, planned.segments, iova, arg).pipe(asDmaError(iova, length)).subscribe(subscriber);
  });

const copyAllInto = (segments: readonly DmaSegment[], iova: number, target: Buffer): void => {
  for (const s of segments) copyOutInto(s.mapping.memory!, s.iova - s.mapping.iova, target, s.iova - iova, s.length);
};

const READ_INTO: AccessKind<Buffer, void> = {
  kind: 'read',
  mapped: copyAllInto,
  segmented: (link, segments, iova, target) =>
    from(segments).pipe(
      concatMap((s) => readSegmentInto(link, s, target, s.iova - iova)),
      toArray(),
      map(() => undefined),
    ),
};

const READ: AccessKind<number, Buffer> = {
  kind: 'read',
  mapped: (segments, iova, length) => {
    const out = Buffer.allocUnsafe(length);
    copyAllInto(segments, iova, out);
    return out;
  },
  segmented: (link, segments, iova, length) =>
    defer(() => {
      const out = Buffer.allocUnsafe(length);
      return READ_INTO.segmented(link, segments, iova, out).pipe(map(() => out));
    }),
};

const pieceOf = (data: Buffer, iova: number, s: DmaSegment): Buffer => data.subarray(s.iova - iova, s.iova - iova + s.length);

const WRITE: AccessKind<Buffer, void> = {
  kind: 'write',
  mapped: (segments, iova, data) => {
    for (const s of segments) copyIn(s.mapping.memory!, s.iova - s.mapping.iova, pieceOf(data, iova, s));
  },
  segmented: (link, segments, iova, data) =>
    from(segments).pipe(
      concatMap((s) => writeSegment(link, s, pieceOf(data, iova, s))),
      toArray(),
      map(() => undefined),
    ),
};

/** Guest memory through the state of the fold as it is when each access is subscribed. */
export const guestMemory = (state: () => DeviceState): GuestMemory => ({
  read: (iova, length) => guestAccess(state, READ, iova, length, length),
  readInto: (iova, target) => guestAccess(state, READ_INTO, iova, target.length, target),
  write: (iova, data) => guestAccess(state, WRITE, iova, data.length, data),
});
