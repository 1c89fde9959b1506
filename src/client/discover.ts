import { concatMap, defer, map, range, switchMap, tap, toArray, type Observable } from 'rxjs';
import { Command, RegionFlags } from '../protocol/constants.js';
import { decodeDeviceInfoReply, encodeDeviceInfoRequest, type DeviceInfo } from '../protocol/device-info.js';
import { MalformedMessageError } from '../protocol/errors.js';
import { decodeIrqInfoReply, encodeIrqInfoRequest, type IrqInfo } from '../protocol/irq.js';
import { REGION_INFO_SIZE, decodeRegionInfoReply, encodeRegionInfoRequest, type RegionInfo } from '../protocol/region-info.js';
import type { Frame } from '../protocol/frame.js';
import { call$, type Wire } from './call.js';

/** Most regions accepted from DEVICE_GET_INFO: a hostile count must not make us send thousands of queries (QEMU's limit). */
export const MAX_REGIONS = 100;
/** Most IRQ types accepted from DEVICE_GET_INFO (QEMU's limit). */
export const MAX_IRQ_TYPES = 50;
/**
 * Most vectors accepted per IRQ type from DEVICE_GET_IRQ_INFO: what PCI allows (one INTx pin, 32 MSI
 * vectors, 2048 MSI-X table entries, one ERR and one REQ notifier), and 2048 for a device-specific
 * index. A server claiming more is hostile or broken: each vector costs the client an eventfd.
 */
export const MAX_IRQ_VECTORS: readonly number[] = [1, 32, 2048, 1, 1];
/** Most vectors accepted for an IRQ index past the PCI ones. */
export const MAX_OTHER_IRQ_VECTORS = 2048;
/** Largest argsz we re-query GET_REGION_INFO with: room for about 4000 sparse areas, far beyond real devices. */
export const MAX_REGION_INFO_ARGSZ = 64 << 10;

/** A region's info and, when it is mappable, the fd to map (owned by the receiver). */
export interface DiscoveredRegion {
  readonly info: RegionInfo;
  readonly fd: number | undefined;
}

/** What realize learns about the device before reading config space. */
export interface Discovery {
  readonly info: DeviceInfo;
  readonly regions: readonly DiscoveredRegion[];
  readonly irqs: readonly IrqInfo[];
}

const GET_INFO = 'DEVICE_GET_INFO';
const REGION_INFO = 'DEVICE_GET_REGION_INFO';

/** DEVICE_GET_INFO, refusing counts no real device has (a hostile server). */
export const deviceInfo$ = (wire: Wire): Observable<DeviceInfo> =>
  call$(wire, Command.DEVICE_GET_INFO, encodeDeviceInfoRequest(), (p) => decodeDeviceInfoReply(p, { argsz: 16 })).pipe(
    tap((info) => {
      if (info.num_regions > MAX_REGIONS) {
        throw new MalformedMessageError(GET_INFO, 'num_regions', `${info.num_regions} > ${MAX_REGIONS}`);
      }
      if (info.num_irqs > MAX_IRQ_TYPES) throw new MalformedMessageError(GET_INFO, 'num_irqs', `${info.num_irqs} > ${MAX_IRQ_TYPES}`);
    }),
  );

/** Decodes one GET_REGION_INFO reply; keeps its fd only when the region is mappable, closes the rest. */
const takeRegion = (frame: Frame, request: { argsz: number; index: number }, wire: Wire): DiscoveredRegion => {
  let kept: number | undefined;
  try {
    if (frame.fds.length > 1) throw new MalformedMessageError(REGION_INFO, 'fds', `${frame.fds.length} fds, at most 1`);
    const info = decodeRegionInfoReply(frame.payload, request);
    if ((info.flags & RegionFlags.MMAP) !== 0 && !info.truncated) kept = frame.fds[0];
    return { info, fd: kept };
  } finally {
    frame.fds.filter((fd) => fd !== kept).forEach(wire.closeFd);
  }
};

const queryRegion$ = (wire: Wire, index: number, argsz: number): Observable<DiscoveredRegion> => {
  const request = { argsz, index };
  return wire.endpoint
    .request(Command.DEVICE_GET_REGION_INFO, encodeRegionInfoRequest(request))
    .pipe(map((frame) => takeRegion(frame, request, wire)));
};

/**
 * GET_REGION_INFO with the VFIO argsz retry: asks with 32 bytes, and when the answer needs more
 * (capabilities, and with libvfio-user the fd too), asks again with the argsz it reported.
 */
export const regionInfo$ = (wire: Wire, index: number): Observable<DiscoveredRegion> =>
  queryRegion$(wire, index, REGION_INFO_SIZE).pipe(
    switchMap((first) => {
      if (!first.info.truncated) return [first];
      const argsz = first.info.argsz;
      if (argsz > MAX_REGION_INFO_ARGSZ) throw new MalformedMessageError(REGION_INFO, 'argsz', `${argsz} > ${MAX_REGION_INFO_ARGSZ}`);
      return queryRegion$(wire, index, argsz).pipe(
        tap((again) => {
          if (again.info.truncated) {
            if (again.fd !== undefined) wire.closeFd(again.fd);
            throw new MalformedMessageError(REGION_INFO, 'argsz', `still truncated with argsz ${argsz}`);
          }
        }),
      );
    }),
  );

/** DEVICE_GET_IRQ_INFO for one IRQ type, refusing more vectors than the type can have. */
export const irqInfo$ = (wire: Wire, index: number): Observable<IrqInfo> =>
  call$(wire, Command.DEVICE_GET_IRQ_INFO, encodeIrqInfoRequest({ index }), (p) => {
    const info = decodeIrqInfoReply(p, { argsz: 16, index });
    const most = MAX_IRQ_VECTORS[index] ?? MAX_OTHER_IRQ_VECTORS;
    if (info.count > most) throw new MalformedMessageError('DEVICE_GET_IRQ_INFO', 'count', `${info.count} vectors for index ${index}, at most ${most}`);
    return info;
  });

const all$ = <T>(count: number, one: (i: number) => Observable<T>): Observable<T[]> =>
  range(0, count).pipe(concatMap(one), toArray());

/**
 * GET_INFO, then GET_REGION_INFO for every region and GET_IRQ_INFO for every IRQ type, in order.
 * Region fds received are handed over with the result; on failure or unsubscribe they are closed.
 */
export const discover$ = (wire: Wire): Observable<Discovery> =>
  defer(() => {
    const got: DiscoveredRegion[] = [];
    let handed = false;
    const release = () => {
      if (!handed) got.forEach((r) => r.fd !== undefined && wire.closeFd(r.fd));
    };
    return deviceInfo$(wire).pipe(
      concatMap((info) =>
        all$(info.num_regions, (i) => regionInfo$(wire, i).pipe(tap((r) => got.push(r)))).pipe(
          concatMap((regions) => all$(info.num_irqs, (i) => irqInfo$(wire, i)).pipe(map((irqs) => ({ info, regions, irqs })))),
        ),
      ),
      tap({ next: () => (handed = true), error: release, unsubscribe: release }),
    );
  });
