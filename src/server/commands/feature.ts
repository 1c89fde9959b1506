/** DEVICE_FEATURE: migration (MIGRATION, MIG_DEVICE_STATE) and DMA dirty logging (DMA_LOGGING_*). */
import { Observable, catchError, map, of, throwError } from 'rxjs';
import { DeviceFeature, MigrationFlags } from '../../protocol/constants.js';
import { decodeDmaLoggingReportRequest, decodeDmaLoggingStart, encodeDmaLoggingReport, encodeDmaLoggingStart } from '../../protocol/dma-logging.js';
import { Errno } from '../../protocol/errno.js';
import { decodeDeviceFeatureRequest, encodeDeviceFeatureReply, featureIndex } from '../../protocol/feature.js';
import { encodeMigDeviceStateFeature, encodeMigrationFeature } from '../../protocol/feature-migration.js';
import { DirtyLog } from '../../protocol/dirty-log.js';
import { dirtyBitmapSize } from '../../protocol/dirty-bitmap.js';
import { fail } from '../errors.js';
import type { Runtime } from '../runtime.js';
import type { DeviceState } from '../state.js';
import { ArcFailure, hooksOf, setDeviceState } from './mig-state.js';
import { withSession, type Attached, type CommandHandler, type Outcome } from './types.js';

const { GET, SET, PROBE } = DeviceFeature;

/** The smallest page size the dirty log keeps (the device picks at least this). */
const MIN_LOG_PAGE = 4096;

/** One feature: what GET answers, what SET does (each absent when the operation is not supported). */
interface Feature {
  /** GET's data; `argsz` is the largest reply the client takes (checked before anything large is made). */
  readonly get?: (rt: Runtime, state: Attached, data: Buffer, argsz: number) => Buffer;
  readonly set?: (rt: Runtime, state: Attached, data: Buffer) => DeviceState | Observable<DeviceState>;
  /** SET's reply data, when it is not the request's (DMA_LOGGING_START names the page size chosen). */
  readonly setReply?: (state: DeviceState, data: Buffer) => Buffer;
}

const features: Readonly<Record<number, Feature>> = {
  [DeviceFeature.MIGRATION]: {
    get: (rt) => encodeMigrationFeature({ flags: MigrationFlags.STOP_COPY | (hooksOf(rt).preCopy ? MigrationFlags.PRE_COPY : 0) }),
  },
  [DeviceFeature.MIG_DEVICE_STATE]: {
    get: (_rt, state) => encodeMigDeviceStateFeature({ device_state: state.migration.state }),
    set: setDeviceState,
  },
  [DeviceFeature.DMA_LOGGING_START]: {
    set: (_rt, state, data) => {
      const start = decodeDmaLoggingStart(data);
      // The device picks the page size (the reply says which): never below a page, or a large DMA
      // write would mark one entry per byte.
      const pageSize = Math.max(start.page_size, MIN_LOG_PAGE);
      const on = state.session.logging;
      if (on && on.pageSize !== pageSize) fail(Errno.EINVAL, `logging is on with page size ${on.pageSize}, not ${pageSize}`);
      for (const r of start.ranges) {
        if (r.length === 0) fail(Errno.EINVAL, 'a logging range is empty');
        if (r.iova % start.page_size !== 0 || r.length % start.page_size !== 0) {
          fail(Errno.EINVAL, `logging range [0x${r.iova.toString(16)}, +0x${r.length.toString(16)}) is not aligned to the page size ${start.page_size}`);
        }
      }
      const sorted = [...start.ranges].sort((a, b) => a.iova - b.iova);
      for (let i = 1; i < sorted.length; i++) {
        if (sorted[i - 1]!.iova + sorted[i - 1]!.length > sorted[i]!.iova) fail(Errno.EINVAL, 'logging ranges overlap');
      }
      return on ? state : withSession(state, { logging: new DirtyLog(pageSize, sorted) });
    },
    setReply: (state, data) => encodeDmaLoggingStart({ ...decodeDmaLoggingStart(data), page_size: state.session!.logging!.pageSize }),
  },
  [DeviceFeature.DMA_LOGGING_STOP]: {
    set: (_rt, state) => (state.session.logging ? withSession(state, { logging: undefined }) : state),
  },
  [DeviceFeature.DMA_LOGGING_REPORT]: {
    get: (rt, state, data, argsz) => {
      const range = decodeDmaLoggingReportRequest(data);
      const log = state.session.logging ?? fail(Errno.EINVAL, 'DMA logging is not on');
      if (!Number.isSafeInteger(range.iova + range.length)) fail(Errno.EINVAL, 'the range runs past 2^53');
      // Sized before anything is made: a huge range at a tiny page size would be a bitmap of GiBs.
      const size = dirtyBitmapSize(range.length, range.page_size);
      const limit = rt.options.limits.maxDataXferSize;
      if (size > limit) fail(Errno.E2BIG, `a bitmap of ${size} bytes, more than max_data_xfer_size ${limit}: report a smaller range`);
      if (argsz < 8 + 24 + size) fail(Errno.EINVAL, `argsz ${argsz} is smaller than the ${8 + 24 + size}-byte reply`);
      return encodeDmaLoggingReport({ ...range, bitmap: log.report(range) });
    },
  },
};

/**
 * DEVICE_FEATURE: PROBE (with GET and/or SET) succeeds when every named operation is supported and
 * echoes the request; GET answers argsz, flags and the feature's data (EINVAL when argsz is too
 * small for it); SET runs and echoes the request. A device without migration answers EINVAL to
 * every feature, as libvfio-user does.
 */
export const deviceFeature: CommandHandler = (rt, state, frame) => {
  const req = decodeDeviceFeatureRequest(frame.payload);
  hooksOf(rt);
  const index = featureIndex(req.flags);
  const feature = features[index] ?? fail(Errno.EINVAL, `feature ${index} is not supported`);
  if ((req.flags & GET) !== 0 && !feature.get) fail(Errno.EINVAL, `feature ${index} has no GET`);
  if ((req.flags & SET) !== 0 && !feature.set) fail(Errno.EINVAL, `feature ${index} has no SET`);
  if ((req.flags & PROBE) !== 0) return { state, payload: Buffer.from(frame.payload) };
  if ((req.flags & GET) !== 0) {
    const data = feature.get!(rt, state, req.data, req.argsz);
    if (req.argsz < 8 + data.length) fail(Errno.EINVAL, `argsz ${req.argsz} is smaller than the ${8 + data.length}-byte reply`);
    return { state, payload: encodeDeviceFeatureReply({ flags: req.flags, data }) };
  }
  const reply = (s: DeviceState): Outcome => ({
    state: s,
    payload: feature.setReply ? encodeDeviceFeatureReply({ argsz: req.argsz, flags: req.flags, data: feature.setReply(s, req.data) }) : Buffer.from(frame.payload),
  });
  const out = feature.set!(rt, state, req.data);
  if (!(out instanceof Observable)) return reply(out);
  return out.pipe(
    map(reply),
    catchError((err: unknown) => (err instanceof ArcFailure ? of<Outcome>({ state: err.state, errno: err.errno }) : throwError(() => err))),
  );
};
