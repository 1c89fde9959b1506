/**
 * Live migration of a device from one server to another, as a composition of the two devices'
 * requests: the destination waits in RESUMING, pre-copy rounds stream the source's state while
 * it runs, stop-and-copy moves the rest, the destination resumes. Anything failing aborts: the
 * source runs again and the destination is reset.
 */
import { EMPTY, catchError, concat, concatMap, defer, endWith, expand, forkJoin, from, ignoreElements, map, of, reduce, throwError, type Observable } from 'rxjs';
import { DeviceState } from '../protocol/constants.js';
import { UnsupportedError } from '../protocol/errors.js';
import type { ClientDevice } from './device.js';
import type { LoggingRange } from './migration.js';

/** A step of a migration, as it happens. */
export type MigrationProgress =
  /** One pre-copy round: the bytes it moved, and the pages dirtied since the last report (with dirty ranges). */
  | { readonly kind: 'pre-copy'; readonly round: number; readonly bytes: number; readonly dirtyPages: number }
  /** The source stopped and its remaining state moved. */
  | { readonly kind: 'stop-copy'; readonly bytes: number; readonly dirtyPages: number }
  /** The destination loaded the state and runs; `bytes` in all. */
  | { readonly kind: 'resumed'; readonly bytes: number };

/** Options of migrate$. */
export interface MigrateOptions {
  /** Pre-copy rounds at most, when the source offers PRE_COPY (default 3; 0: straight to stop-and-copy). */
  readonly preCopyRounds?: number;
  /** Pre-copy ends after a round that moved at most this many bytes (default 0). */
  readonly convergeBytes?: number;
  /**
   * Guest ranges to log dirty pages in while migrating (a VMM copies those pages of guest RAM); the
   * progress events count them. Default none: no logging.
   */
  readonly dirtyRanges?: readonly LoggingRange[];
  /** Page size of the dirty log (default 4096). */
  readonly pageSize?: number;
}

const popcount = (bitmap: Buffer): number => {
  let n = 0;
  for (const byte of bitmap) {
    let b = byte;
    while (b) {
      n += b & 1;
      b >>= 1;
    }
  }
  return n;
};

/** Pages dirtied in the ranges since the last query (0 without ranges). */
const dirtyPages$ = (dev: ClientDevice, ranges: readonly LoggingRange[], pageSize: number): Observable<number> =>
  ranges.length === 0 ? of(0) : from(ranges).pipe(concatMap((r) => dev.dirtyBitmap(r.iova, r.length, pageSize)), reduce((n, b) => n + popcount(b), 0));

/**
 * Moves data from the source to the destination until a read comes back short (in PRE_COPY: no
 * more for now; in STOP_COPY: the end); emits the bytes moved. Reads run ahead of the writes; the
 * writes keep the order of the reads.
 */
const drain$ = (source: ClientDevice, dest: ClientDevice, chunk: number): Observable<number> =>
  source.readMigrationData(chunk).pipe(
    expand((data) => (data.length < chunk ? EMPTY : source.readMigrationData(chunk))),
    concatMap((data) => (data.length === 0 ? of(0) : dest.writeMigrationData(data).pipe(endWith(data.length)))),
    reduce((total, n) => total + n, 0),
  );

const quiet = (o: Observable<unknown>): Observable<never> => o.pipe(ignoreElements(), catchError(() => EMPTY));

/**
 * Migrates the device state of `source` to `dest` (two devices of the same kind, on two servers):
 * a cold Observable of progress events that completes once the destination runs and the source
 * is stopped. On any failure the source goes back to RUNNING, the destination is reset (when it
 * can be), and the error is passed on.
 */
export const migrate$ = (source: ClientDevice, dest: ClientDevice, options: MigrateOptions = {}): Observable<MigrationProgress> =>
  defer(() => {
    const rounds = options.preCopyRounds ?? 3;
    const converge = options.convergeBytes ?? 0;
    const ranges = options.dirtyRanges ?? [];
    const pageSize = options.pageSize ?? 4096;
    const chunk = Math.min(source.caps.max_data_xfer_size, dest.caps.max_data_xfer_size);
    let moved = 0;

    const preCopy$ = (round: number): Observable<MigrationProgress> =>
      drain$(source, dest, chunk).pipe(
        concatMap((bytes) => dirtyPages$(source, ranges, pageSize).pipe(map((dirtyPages) => ({ kind: 'pre-copy' as const, round, bytes, dirtyPages })))),
      );
    const preCopyRounds$ = (offered: boolean): Observable<MigrationProgress> =>
      !offered || rounds <= 0
        ? EMPTY
        : concat(
            source.setMigrationState(DeviceState.PRE_COPY),
            preCopy$(1).pipe(expand((p) => (p.kind === 'pre-copy' && p.round < rounds && p.bytes > converge ? preCopy$(p.round + 1) : EMPTY))),
          );

    const run$ = forkJoin([source.migrationFeatures(), dest.migrationFeatures()]).pipe(
      concatMap(([src, dst]) => {
        if (!src.stopCopy || !dst.stopCopy) throw new UnsupportedError('migration: both devices must offer STOP_COPY');
        return concat(
          dest.setMigrationState(DeviceState.RESUMING),
          ranges.length > 0 ? source.startDirtyLogging(pageSize, ranges).pipe(ignoreElements()) : EMPTY,
          preCopyRounds$(src.preCopy),
          source.setMigrationState(DeviceState.STOP_COPY),
          drain$(source, dest, chunk).pipe(
            concatMap((bytes) => dirtyPages$(source, ranges, pageSize).pipe(map((dirtyPages) => ({ kind: 'stop-copy' as const, bytes, dirtyPages })))),
          ),
          dest.setMigrationState(DeviceState.RUNNING),
          source.setMigrationState(DeviceState.STOP),
          ranges.length > 0 ? source.stopDirtyLogging() : EMPTY,
          defer(() => of({ kind: 'resumed' as const, bytes: moved })),
        );
      }),
      map((p): MigrationProgress => {
        if (p.kind !== 'resumed') moved += p.bytes;
        return p;
      }),
    );
    return run$.pipe(
      catchError((err: unknown) =>
        concat(
          quiet(source.setMigrationState(DeviceState.RUNNING)),
          ranges.length > 0 ? quiet(source.stopDirtyLogging()) : EMPTY,
          quiet(dest.reset()),
          throwError(() => err),
        ),
      ),
    );
  });
