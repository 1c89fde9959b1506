/** REGION_READ, REGION_WRITE and REGION_WRITE_MULTI. */
import { Observable, catchError, from, last, map, mergeScan, of } from 'rxjs';
import { decodeRegionReadRequest, decodeRegionWriteRequest, encodeRegionReadReply, encodeRegionWriteReply } from '../../../protocol/region-access.js';
import { decodeWriteMultiRequest, encodeWriteMultiReply } from '../../../protocol/write-multi.js';
import { errnoOf } from '../errors.js';
import { accessRegion } from '../regions.js';
import type { Runtime } from '../runtime.js';
import type { DeviceState } from '../state.js';
import type { CommandHandler, Outcome } from './types.js';

const limitsOf = (rt: Runtime) => ({ maxDataXferSize: rt.options.limits.maxDataXferSize });

/** REGION_READ: count at most our max_data_xfer_size (E2BIG), inside the region (EINVAL). */
export const regionRead: CommandHandler = (rt, state, frame) => {
  const req = decodeRegionReadRequest(frame.payload, limitsOf(rt));
  const access = { kind: 'read', region: req.region, offset: req.offset, count: req.count } as const;
  return accessRegion(rt, state, access).pipe(
    map((o) => ({ state: o.state, payload: encodeRegionReadReply({ offset: req.offset, region: req.region, data: o.data ?? Buffer.alloc(0) }) })),
  );
};

/** REGION_WRITE: the data length must equal count (EINVAL); the reply echoes offset, region and count. */
export const regionWrite: CommandHandler = (rt, state, frame) => {
  const req = decodeRegionWriteRequest(frame.payload, limitsOf(rt));
  const access = { kind: 'write', region: req.region, offset: req.offset, data: Buffer.from(req.data ?? Buffer.alloc(0)) } as const;
  return accessRegion(rt, state, access).pipe(
    map((o) => ({ state: o.state, payload: encodeRegionWriteReply({ offset: req.offset, region: req.region, count: req.count }) })),
  );
};

/**
 * REGION_WRITE_MULTI: the writes in order, as if sent one by one. A failing write stops the
 * rest and fails the command with its errno (the writes before it stay done).
 */
export const writeMulti: CommandHandler = (rt, state, frame) => {
  const req = decodeWriteMultiRequest(frame.payload);
  type Acc = { state: DeviceState; done: number; errno?: number };
  return from(req.entries).pipe(
    mergeScan(
      (acc: Acc, e): Observable<Acc> => {
        if (acc.errno !== undefined) return of(acc);
        const access = { kind: 'write', region: e.region, offset: e.offset, data: Buffer.from(e.data) } as const;
        return accessRegion(rt, acc.state, access).pipe(
          map((o) => ({ state: o.state, done: acc.done + 1 })),
          catchError((err: unknown) => of({ ...acc, errno: errnoOf(err) })),
        );
      },
      { state, done: 0 } as Acc,
      1,
    ),
    last(null, { state, done: 0 } as Acc),
    map((acc): Outcome => (acc.errno === undefined ? { state: acc.state, payload: encodeWriteMultiReply({ wr_cnt: acc.done }) } : { state: acc.state, errno: acc.errno })),
  );
};
