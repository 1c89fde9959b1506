/**
 * The client's side of live migration and dirty-page logging: DEVICE_FEATURE (MIGRATION,
 * MIG_DEVICE_STATE, DMA_LOGGING_*) and MIG_DATA_READ / MIG_DATA_WRITE as cold Observables, and the
 * dirty pages of the server's DMA_WRITE messages, which the client answers and so must log itself.
 */
import { catchError, concat, defer, forkJoin, ignoreElements, map, of, throwError, type Observable } from 'rxjs';
import { RemoteError } from '../protocol/errors.js';
import { Command, DeviceFeature, MigrationFlags } from '../protocol/constants.js';
import { DirtyLog } from '../protocol/dirty-log.js';
import { decodeDmaLoggingReport, decodeDmaLoggingStart, encodeDmaLoggingReportRequest, encodeDmaLoggingStart } from '../protocol/dma-logging.js';
import { dirtyBitmapSize } from '../protocol/dirty-bitmap.js';
import { decodeDeviceFeatureReply, encodeDeviceFeatureRequest } from '../protocol/feature.js';
import { decodeMigDeviceStateFeature, decodeMigrationFeature, encodeMigDeviceStateFeature } from '../protocol/feature-migration.js';
import {
  MIG_DATA_SIZE,
  decodeMigDataReadReply,
  decodeMigDataWriteReply,
  encodeMigDataReadRequest,
  encodeMigDataWriteRequest,
} from '../protocol/migration-data.js';
import { splitTransfer } from '../operators/chunk-transfers.js';
import { call$, type Wire } from './call.js';

/** What the device's MIGRATION feature offers. */
export interface MigrationFeatures {
  readonly stopCopy: boolean;
  readonly preCopy: boolean;
  readonly p2p: boolean;
}

/** What DEVICE_FEATURE offers on a device: migration (and the state it is in), dirty logging. */
export interface DeviceFeatures {
  /** Undefined when the device does not migrate. */
  readonly migration?: MigrationFeatures & { readonly state: number };
  readonly dirtyLogging: boolean;
}

/** A range of guest addresses to log. */
export interface LoggingRange {
  readonly iova: number;
  readonly length: number;
}

/** Where the pages written by the server's DMA_WRITE messages are logged while logging is on. */
export interface ClientDirtyLog {
  log: DirtyLog | undefined;
}

const { GET, SET } = DeviceFeature;

/** A GET's reply of up to `dataBytes` bytes of data. */
const get$ = <T>(wire: Wire, feature: number, request: Buffer, dataBytes: number, decode: (data: Buffer) => T): Observable<T> => {
  const sent = { argsz: 8 + dataBytes, flags: GET | feature, data: request };
  return call$(wire, Command.DEVICE_FEATURE, encodeDeviceFeatureRequest(sent), (p) => decode(decodeDeviceFeatureReply(p, sent).data));
};

const set$ = <T>(wire: Wire, feature: number, data: Buffer, decode: (data: Buffer) => T): Observable<T> => {
  const sent = { argsz: 8 + data.length, flags: SET | feature, data };
  return call$(wire, Command.DEVICE_FEATURE, encodeDeviceFeatureRequest(sent), (p) => decode(decodeDeviceFeatureReply(p, sent).data));
};

/** The migration and logging requests of one device. */
export interface MigrationRequests {
  features(): Observable<MigrationFeatures>;
  state(): Observable<number>;
  setState(state: number): Observable<never>;
  readData(size: number): Observable<Buffer>;
  writeData(data: Buffer): Observable<never>;
  startLogging(pageSize: number, ranges: readonly LoggingRange[]): Observable<number>;
  stopLogging(): Observable<never>;
  dirtyBitmap(iova: number, length: number, pageSize: number): Observable<Buffer>;
  /** Probes MIGRATION, MIG_DEVICE_STATE and DMA_LOGGING_START (an error reply means "not offered"). */
  probe(): Observable<DeviceFeatures>;
}

/**
 * The requests, for a server whose max_data_xfer_size is `maxXfer`. The dirty bitmap of a range
 * is the server's report (pages written through its mappings) ORed with ours (pages its DMA_WRITE
 * messages wrote), both cleared by the query.
 */
const offered = <T>(o: Observable<T>): Observable<T | undefined> => o.pipe(catchError((err: unknown) => (err instanceof RemoteError ? of(undefined) : throwError(() => err))));

export const migrationRequests = (wire: Wire, maxXfer: number, clientLog: ClientDirtyLog): MigrationRequests => ({
  features: () =>
    get$(wire, DeviceFeature.MIGRATION, Buffer.alloc(0), 8, decodeMigrationFeature).pipe(
      map((f) => {
        const flags = Number(f.flags);
        return { stopCopy: (flags & MigrationFlags.STOP_COPY) !== 0, preCopy: (flags & MigrationFlags.PRE_COPY) !== 0, p2p: (flags & MigrationFlags.P2P) !== 0 };
      }),
    ),
  state: () => get$(wire, DeviceFeature.MIG_DEVICE_STATE, Buffer.alloc(0), 8, (d) => decodeMigDeviceStateFeature(d).device_state),
  setState: (state) => set$(wire, DeviceFeature.MIG_DEVICE_STATE, encodeMigDeviceStateFeature({ device_state: state }), () => undefined).pipe(ignoreElements()),
  readData: (size) =>
    defer(() => {
      const wanted = Math.min(size, maxXfer);
      const request = { argsz: MIG_DATA_SIZE + wanted, size: wanted };
      return call$(wire, Command.MIG_DATA_READ, encodeMigDataReadRequest(request), (p) => Buffer.from(decodeMigDataReadReply(p, request).data));
    }),
  writeData: (data) =>
    concat(
      ...splitTransfer({ offset: 0, count: data.length }, maxXfer).map((t) =>
        call$(wire, Command.MIG_DATA_WRITE, encodeMigDataWriteRequest({ data: data.subarray(t.offset, t.offset + t.count) }), decodeMigDataWriteReply),
      ),
    ).pipe(ignoreElements()),
  startLogging: (pageSize, ranges) =>
    set$(wire, DeviceFeature.DMA_LOGGING_START, encodeDmaLoggingStart({ page_size: pageSize, ranges }), (d) => decodeDmaLoggingStart(d).page_size).pipe(
      map((chosen) => {
        clientLog.log = new DirtyLog(chosen, ranges);
        return chosen;
      }),
    ),
  probe: () => {
    const probeLogging = { argsz: 8, flags: DeviceFeature.PROBE | SET | DeviceFeature.DMA_LOGGING_START, data: Buffer.alloc(0) };
    const requests = migrationRequests(wire, maxXfer, clientLog);
    return forkJoin([
      offered(requests.features()),
      offered(requests.state()),
      offered(call$(wire, Command.DEVICE_FEATURE, encodeDeviceFeatureRequest(probeLogging), () => true)),
    ]).pipe(map(([features, state, logging]) => ({ ...(features && state !== undefined ? { migration: { ...features, state } } : {}), dirtyLogging: logging === true })));
  },
  stopLogging: () =>
    defer(() => {
      clientLog.log = undefined;
      return set$(wire, DeviceFeature.DMA_LOGGING_STOP, Buffer.alloc(0), () => undefined);
    }).pipe(ignoreElements()),
  dirtyBitmap: (iova, length, pageSize) =>
    defer(() => {
      const range = { iova, length, page_size: pageSize };
      const size = dirtyBitmapSize(length, pageSize);
      return get$(wire, DeviceFeature.DMA_LOGGING_REPORT, encodeDmaLoggingReportRequest(range), 24 + size, (d) => decodeDmaLoggingReport(d, range).bitmap).pipe(
        map((server) => {
          const bitmap = Buffer.from(server);
          const ours = clientLog.log?.report(range);
          if (ours) for (let i = 0; i < bitmap.length; i++) bitmap[i]! |= ours[i]!;
          return bitmap;
        }),
      );
    }),
});
