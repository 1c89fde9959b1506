/**
 * Device access to guest memory by IOVA: through our mmap of the client's fd when it sent one,
 * by DMA_READ/DMA_WRITE requests otherwise, chunked by the client's max_data_xfer_size.
 */
import { Observable, catchError, concatMap, defer, from, map, of, range, take, throwError, toArray, type OperatorFunction } from 'rxjs';
import { Command } from '../../protocol/constants.js';
import { decodeDmaReadReply, decodeDmaWriteReply, encodeDmaReadRequest, encodeDmaWriteRequest } from '../../protocol/dma-access.js';
import { Errno } from '../../protocol/errno.js';
import { ReplyTimeoutError } from '../../protocol/errors.js';
import { resolveRange, type DmaSegment } from './dma-table.js';
import { DmaError, errnoOf } from './errors.js';
import type { SessionLink, DeviceState } from './state.js';
import type { GuestMemory } from './types.js';
import { copyIn, copyOut, copyOutInto } from './windows.js';

const asDmaError =
  <T>(iova: number, length: number): OperatorFunction<T, T> =>
  (source) =>
    source.pipe(
      catchError((err: unknown) => {
        if (err instanceof DmaError) return throwError(() => err);
        const errno = err instanceof ReplyTimeoutError ? Errno.ETIMEDOUT : errnoOf(err);
        return throwError(() => new DmaError(errno, iova, length, (err as Error).message ?? String(err), { cause: err }));
      }),
    );

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

// One part is already the whole answer: joining it would copy it again for nothing (1 MiB reads).
const joined = (parts: Buffer[], length?: number): Buffer =>
  parts.length === 1 && (length === undefined || parts[0]!.length === length) ? parts[0]! : Buffer.concat(parts, length);

const readByMessage = (link: SessionLink, iova: number, length: number): Observable<Buffer> =>
  chunks(iova, length, link.client.max_data_xfer_size).pipe(
    concatMap((c) =>
      link.dma.request(Command.DMA_READ, encodeDmaReadRequest(c)).pipe(
        take(1),
        map((f) => decodeDmaReadReply(f.payload, c).data ?? Buffer.alloc(0)),
      ),
    ),
    toArray(),
    map((parts) => joined(parts)),
  );

const writeByMessage = (link: SessionLink, iova: number, data: Buffer): Observable<void> =>
  chunks(iova, data.length, link.client.max_data_xfer_size).pipe(
    concatMap((c) => {
      const request = { address: c.address, data: data.subarray(c.at, c.at + c.count) };
      return link.dma.request(Command.DMA_WRITE, encodeDmaWriteRequest(request)).pipe(
        take(1),
        map((f) => void decodeDmaWriteReply(f.payload, { address: c.address, count: c.count })),
      );
    }),
    toArray(),
    map(() => undefined),
  );

const readSegment = (link: SessionLink, s: DmaSegment): Observable<Buffer> =>
  s.mapping.memory
    ? defer(() => of(copyOut(s.mapping.memory!, s.iova - s.mapping.iova, s.length)))
    : readByMessage(link, s.iova, s.length);

const writeSegment = (link: SessionLink, s: DmaSegment, data: Buffer): Observable<void> =>
  s.mapping.memory
    ? defer(() => of(copyIn(s.mapping.memory!, s.iova - s.mapping.iova, data)))
    : writeByMessage(link, s.iova, data);

/** Reads guest memory as the state describes it. */
export const readGuest = (state: DeviceState, iova: number, length: number): Observable<Buffer> =>
  defer(() => {
    const { link, segments } = plan(state, iova, length, 'read');
    return from(segments).pipe(
      concatMap((s) => readSegment(link, s)),
      toArray(),
      map((parts) => joined(parts, length)),
    );
  }).pipe(asDmaError(iova, length));

const readSegmentInto = (link: SessionLink, s: DmaSegment, target: Buffer, at: number): Observable<void> =>
  s.mapping.memory
    ? defer(() => of(copyOutInto(s.mapping.memory!, s.iova - s.mapping.iova, target, at, s.length)))
    : readByMessage(link, s.iova, s.length).pipe(map((data) => void data.copy(target, at)));

/** Reads guest memory into a buffer of the device's, as the state describes it. */
export const readGuestInto = (state: DeviceState, iova: number, target: Buffer): Observable<void> =>
  defer(() => {
    const { link, segments } = plan(state, iova, target.length, 'read');
    return from(segments).pipe(
      concatMap((s) => readSegmentInto(link, s, target, s.iova - iova)),
      toArray(),
      map(() => undefined),
    );
  }).pipe(asDmaError(iova, target.length));

/** Writes guest memory as the state describes it. */
export const writeGuest = (state: DeviceState, iova: number, data: Buffer): Observable<void> =>
  defer(() => {
    const { link, segments } = plan(state, iova, data.length, 'write');
    return from(segments).pipe(
      concatMap((s) => writeSegment(link, s, data.subarray(s.iova - iova, s.iova - iova + s.length))),
      toArray(),
      map(() => undefined),
    );
  }).pipe(asDmaError(iova, data.length));

/** Guest memory through the latest state of `state$` (taken when each access is subscribed). */
export const guestMemory = (state$: Observable<DeviceState>): GuestMemory => ({
  read: (iova, length) => state$.pipe(take(1), concatMap((s) => readGuest(s, iova, length))),
  readInto: (iova, target) => state$.pipe(take(1), concatMap((s) => readGuestInto(s, iova, target))),
  write: (iova, data) => state$.pipe(take(1), concatMap((s) => writeGuest(s, iova, data))),
});
