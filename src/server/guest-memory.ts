/**
 * Device access to guest memory by IOVA: through our mmap of the client's fd when it sent one,
 * by DMA_READ/DMA_WRITE requests otherwise (dma-messages.ts).
 */
import { Observable, catchError, concatMap, defer, from, last, map, of, throwError, type OperatorFunction } from 'rxjs';
import { Errno } from '../protocol/errno.js';
import { ReplyTimeoutError } from '../protocol/errors.js';
import { readByMessageInto, writeByMessage } from './dma-messages.js';
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
const guestAccess = <A, T>(state: () => DeviceState, k: AccessKind<A, T>, iova: number, length: number, arg: A, messages = false, onMapped?: MappedAccess): Observable<T> =>
  new Observable<T>((subscriber) => {
    let planned: { link: SessionLink; segments: DmaSegment[] };
    try {
      const current = state();
      planned = plan(current, iova, length, k.kind);
      if (messages) planned = { link: planned.link, segments: planned.segments.map(byMessageOnly) };
      // Writes through our mappings are logged while DMA logging is on (before the copy: a page
      // reported dirty too early is harmless, one missed is lost). Message writes are the client's to log.
      const log = k.kind === 'write' ? current.session?.logging : undefined;
      if (log) for (const s of planned.segments) if (s.mapping.memory) log.mark(s.iova, s.length);
      if (onMapped) {
        let mapped = 0;
        for (const s of planned.segments) if (s.mapping.memory) mapped += s.length;
        if (mapped > 0) onMapped(k.kind, mapped);
      }
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

/** A segment as if its mapping had no fd: the access goes by message (and is the client's to log). */
const byMessageOnly = (s: DmaSegment): DmaSegment => (s.mapping.memory ? { ...s, mapping: { ...s.mapping, memory: undefined } } : s);

const copyAllInto = (segments: readonly DmaSegment[], iova: number, target: Buffer): void => {
  for (const s of segments) copyOutInto(s.mapping.memory!, s.iova - s.mapping.iova, target, s.iova - iova, s.length);
};

const READ_INTO: AccessKind<Buffer, void> = {
  kind: 'read',
  mapped: copyAllInto,
  segmented: (link, segments, iova, target) =>
    segments.length === 1
      ? readSegmentInto(link, segments[0]!, target, 0)
      : from(segments).pipe(
          concatMap((s) => readSegmentInto(link, s, target, s.iova - iova)),
          last(),
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
    segments.length === 1
      ? writeSegment(link, segments[0]!, data)
      : from(segments).pipe(
          concatMap((s) => writeSegment(link, s, pieceOf(data, iova, s))),
          last(),
        ),
};

/** The three accesses, through the mapping where there is one or (`messages`) always by message. */
const accessors = (state: () => DeviceState, messages: boolean, onMapped?: MappedAccess): Omit<GuestMemory, 'byMessage'> => ({
  read: (iova, length) => guestAccess(state, READ, iova, length, length, messages, onMapped),
  readInto: (iova, target) => guestAccess(state, READ_INTO, iova, target.length, target, messages, onMapped),
  write: (iova, data) => guestAccess(state, WRITE, iova, data.length, data, messages, onMapped),
});

/** Told the bytes of each access that go through our mappings of the client's memory (for metrics). */
export type MappedAccess = (kind: 'read' | 'write', bytes: number) => void;

/** Guest memory through the state of the fold as it is when each access is subscribed. */
export const guestMemory = (state: () => DeviceState, onMapped?: MappedAccess): GuestMemory => ({
  ...accessors(state, false, onMapped),
  byMessage: accessors(state, true, onMapped),
});
