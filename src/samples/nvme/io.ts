/**
 * The NVM command set's I/O commands (NVMe NVM command set, section 3): Read, Write, Flush, Write
 * Zeroes and Dataset Management, between the command's PRPs in guest memory and the namespace's
 * store. A command never errors: it ends in a status, as the host sees it in the completion.
 */
import { catchError, concatMap, defer, from, last, map, mergeMap, of, toArray, type Observable } from 'rxjs';
import type { GuestMemory } from '../../server/index.js';
import { DmaError } from '../../server/index.js';
import { GenericStatus, readU64, type Status, type Submission } from './entries.js';
import { PrpError, prpSegments, type Segment } from './prp.js';
import type { BlockStore } from './namespace.js';

/** I/O opcodes. */
export const IoOpcode = { FLUSH: 0x00, WRITE: 0x01, READ: 0x02, WRITE_ZEROES: 0x08, DATASET_MANAGEMENT: 0x09 } as const;

/** How a command ended, and what it moved (for the health log). */
export interface IoResult {
  readonly status: Status;
  readonly bytesRead?: number;
  readonly bytesWritten?: number;
  /** The first LBA, for the error log. */
  readonly lba?: number;
}

/** What I/O commands run against. */
export interface IoTarget {
  readonly store: BlockStore;
  /** log2 of the block size. */
  readonly blockShift: number;
  readonly memory: GuestMemory;
  readonly pageSize: number;
  /** The largest transfer (MDTS) in bytes. */
  readonly maxTransfer: number;
}

const status = (sc: number, dnr = true): Status => ({ sct: 0, sc, dnr });
const OK: IoResult = { status: { sct: 0, sc: GenericStatus.SUCCESS } };

/** The status for an error on the way: a PRP problem is its own status, anything else a data transfer error. */
export const failed = (err: unknown, lba?: number): IoResult => ({
  status: err instanceof PrpError ? err.status : status(GenericStatus.DATA_TRANSFER_ERROR, err instanceof DmaError),
  ...(lba !== undefined ? { lba } : {}),
});

/** The blocks a Read, Write or Write Zeroes addresses, or the status refusing it. */
const blockRange = (cmd: Submission, t: IoTarget): { lba: number; bytes: number } | IoResult => {
  const lba = readU64FromDwords(cmd.cdw[0], cmd.cdw[1]);
  const blocks = (cmd.cdw[2] & 0xffff) + 1;
  if (lba + blocks > t.store.size / 2 ** t.blockShift) return { status: status(GenericStatus.LBA_OUT_OF_RANGE), lba };
  return { lba, bytes: blocks * 2 ** t.blockShift };
};

const readU64FromDwords = (lo: number, hi: number): number => hi * 0x1_0000_0000 + lo;

/** Copies `data` into the segments, in order. */
export const toSegments = (memory: GuestMemory, segments: readonly Segment[], data: Buffer): Observable<void> => {
  if (segments.length === 1) return memory.write(segments[0]!.iova, data);
  let at = 0;
  return from(segments).pipe(
    concatMap((s) => {
      const part = data.subarray(at, at + s.length);
      at += s.length;
      return memory.write(s.iova, part);
    }),
    last(undefined, undefined),
  );
};

/** Gathers the segments' bytes into one buffer. */
const fromSegments = (memory: GuestMemory, segments: readonly Segment[], length: number): Observable<Buffer> => {
  if (segments.length === 1) return memory.read(segments[0]!.iova, length);
  const data = Buffer.allocUnsafe(length);
  let at = 0;
  return from(segments).pipe(
    concatMap((s) => {
      const part = data.subarray(at, at + s.length);
      at += s.length;
      return memory.readInto(s.iova, part);
    }),
    last(undefined, undefined),
    map(() => data),
  );
};

const transfer = (cmd: Submission, t: IoTarget, write: boolean): Observable<IoResult> => {
  const range = blockRange(cmd, t);
  if ('status' in range) return of(range);
  const { lba, bytes } = range;
  if (bytes > t.maxTransfer) return of({ status: status(GenericStatus.INVALID_FIELD), lba });
  const offset = lba * 2 ** t.blockShift;
  return prpSegments(t.memory, cmd.prp1, cmd.prp2, bytes, t.pageSize).pipe(
    concatMap((segments) =>
      write
        ? fromSegments(t.memory, segments, bytes).pipe(concatMap((data) => t.store.write(offset, data)), map((): IoResult => ({ ...OK, bytesWritten: bytes })))
        : t.store.read(offset, bytes).pipe(concatMap((data) => toSegments(t.memory, segments, data)), map((): IoResult => ({ ...OK, bytesRead: bytes }))),
    ),
    catchError((err: unknown) => of(failed(err, lba))),
  );
};

const writeZeroes = (cmd: Submission, t: IoTarget): Observable<IoResult> => {
  const range = blockRange(cmd, t);
  if ('status' in range) return of(range);
  return t.store.zero(range.lba * 2 ** t.blockShift, range.bytes).pipe(
    map(() => OK),
    catchError((err: unknown) => of(failed(err, range.lba))),
  );
};

/** The 16-byte ranges of Dataset Management. */
const DSM_RANGE = 16;

const datasetManagement = (cmd: Submission, t: IoTarget): Observable<IoResult> => {
  const ranges = (cmd.cdw[0] & 0xff) + 1;
  const deallocate = (cmd.cdw[1] & 0x4) !== 0;
  const blocks = t.store.size / 2 ** t.blockShift;
  return prpSegments(t.memory, cmd.prp1, cmd.prp2, ranges * DSM_RANGE, t.pageSize).pipe(
    concatMap((segments) => fromSegments(t.memory, segments, ranges * DSM_RANGE)),
    concatMap((list) => {
      const parsed = Array.from({ length: ranges }, (_, i) => ({ length: list.readUInt32LE(i * DSM_RANGE + 4), lba: readU64(list, i * DSM_RANGE + 8) }));
      const outside = parsed.find((r) => r.lba + r.length > blocks);
      if (outside) return of<IoResult>({ status: status(GenericStatus.LBA_OUT_OF_RANGE), lba: outside.lba });
      // Deallocated blocks read as zeros (DLFEAT); without the attribute the ranges are only hints.
      if (!deallocate) return of(OK);
      return from(parsed.filter((r) => r.length > 0)).pipe(
        mergeMap((r) => t.store.zero(r.lba * 2 ** t.blockShift, r.length * 2 ** t.blockShift), 1),
        toArray(),
        map(() => OK),
      );
    }),
    catchError((err: unknown) => of(failed(err))),
  );
};

/** Executes one I/O command for namespace 1. */
export const ioCommand = (cmd: Submission, t: IoTarget): Observable<IoResult> =>
  defer(() => {
    if (cmd.fuse !== 0 || cmd.psdt !== 0) return of({ status: status(GenericStatus.INVALID_FIELD) });
    // Flush may name every namespace; the others name namespace 1.
    if (cmd.opcode === IoOpcode.FLUSH && (cmd.nsid === 1 || cmd.nsid === 0xffffffff))
      return t.store.flush().pipe(
        map(() => OK),
        catchError((err: unknown) => of(failed(err))),
      );
    if (cmd.nsid !== 1) return of({ status: status(GenericStatus.INVALID_NAMESPACE) });
    switch (cmd.opcode) {
      case IoOpcode.READ:
        return transfer(cmd, t, false);
      case IoOpcode.WRITE:
        return transfer(cmd, t, true);
      case IoOpcode.WRITE_ZEROES:
        return writeZeroes(cmd, t);
      case IoOpcode.DATASET_MANAGEMENT:
        return datasetManagement(cmd, t);
      default:
        return of({ status: status(GenericStatus.INVALID_OPCODE) });
    }
  });
