import { Observable, Subscription, defer, map, merge, of, switchMap, take } from 'rxjs';
import { PciRegion, RegionFlags } from '../protocol/constants.js';
import { MalformedMessageError } from '../protocol/errors.js';
import { connection, type Connection } from '../wire/connection.js';
import { parseConfigSpace, type ParsedConfig } from '../pci/parse.js';
import type { Wire } from './call.js';
import { describePeer, openChannel$ } from './connect.js';
import { assembleDevice, type ClientDevice } from './device.js';
import { discover$, type Discovery } from './discover.js';
import { answerDmaOn, attachDma, frameLimit } from './attach-dma.js';
import { interrupts } from './interrupts.js';
import { endpointsOf, link$, watchLinks, type Stage } from './links.js';
import { migrationRequests } from './migration.js';
import { mapRegion, unmapAreas } from './mmap-regions.js';
import type { Negotiated } from './negotiate.js';
import { resolveOptions, type ClientOptions, type ResolvedOptions } from './options.js';
import { REGION_WRITE_OVERHEAD, clientRegion, type ClientRegion } from './region-access.js';
import { relink } from './relink.js';

/** Config space is 256 bytes, or 4 KiB for PCIe: a larger claim is not read. */
const MAX_CONFIG_SIZE = 4096;

/** Runs `build` with a scope of local resources, released on failure or early unsubscribe, else handed over. */
const scoped = <T>(build: (scope: Subscription) => Observable<T>): Observable<T> =>
  new Observable<T>((subscriber) => {
    const scope = new Subscription();
    let handed = false;
    const sub = build(scope).pipe(take(1)).subscribe({
      next: (value) => {
        handed = true;
        subscriber.next(value);
      },
      error: (err: unknown) => {
        scope.unsubscribe();
        subscriber.error(err);
      },
      complete: () => subscriber.complete(),
    });
    return () => {
      sub.unsubscribe();
      if (!handed) scope.unsubscribe();
    };
  });

/** Maps the mappable regions (closing their fds) and builds every region accessor. */
const buildRegions = (wire: Wire, d: Discovery, neg: Negotiated, o: ResolvedOptions, scope: Subscription) => {
  const mappable = d.regions.some((r) => (r.info.flags & RegionFlags.MMAP) !== 0);
  // QEMU's ordering rule: accesses through a mapping bypass the socket, so nothing may be posted.
  const postedWrites = o.postedWrites && !mappable;
  const mappings = d.regions.map((r) => mapRegion(o.native, r));
  scope.add(() => mappings.forEach((m) => unmapAreas(o.native, m.areas)));
  const readChunk = Math.min(neg.caps.max_data_xfer_size, o.maxDataXferSize);
  const writeChunk = Math.min(neg.caps.max_data_xfer_size, o.maxRequestBody - REGION_WRITE_OVERHEAD);
  const regions = d.regions.map(({ info }, i) =>
    clientRegion({ wire, info, areas: mappings[i]!.areas, readChunk, writeChunk, posted: postedWrites && info.index !== PciRegion.CONFIG }),
  );
  return { regions, postedWrites, warnings: mappings.flatMap((m) => m.warnings) };
};

const readConfig$ = (regions: readonly ClientRegion[]) =>
  defer(() => {
    const config = regions[PciRegion.CONFIG];
    if (!config || config.info.size < 64) {
      throw new MalformedMessageError('DEVICE_GET_REGION_INFO', 'size', 'no config space region of at least 64 bytes (index 7)');
    }
    return config.read(0, Math.min(config.info.size, MAX_CONFIG_SIZE));
  }).pipe(map((bytes) => ({ bytes, parsed: parseConfigSpace(bytes) })));

type Built = ReturnType<typeof buildRegions>;

const finish = (s: Stage, d: Discovery, built: Built, config: { bytes: Buffer; parsed: ParsedConfig }): ClientDevice => {
  const neg = s.first.neg;
  const irq = interrupts({ wire: s.wire, irqs: d.irqs, maxMsgFds: neg.caps.max_msg_fds, native: s.o.native, autoAck: s.o.autoAck });
  const links = watchLinks(s, irq, built.regions);
  return assembleDevice({
    wire: s.wire,
    version: { major: neg.major, minor: neg.minor },
    caps: neg.caps,
    info: d.info,
    regions: built.regions,
    irqs: d.irqs,
    config: config.parsed,
    configBytes: config.bytes,
    flags: { twinSocket: s.first.twin !== undefined, dmaMode: s.dma.dmaMode, postedWrites: built.postedWrites, writeMulti: s.first.multi },
    warnings: [...built.warnings, ...config.parsed.warnings],
    container: s.dma.container,
    interrupts: irq,
    migration: migrationRequests(s.wire, neg.caps.max_data_xfer_size, s.dma.dirty),
    closed$: links.closed$,
    reconnects$: links.reconnects$,
    scope: s.scope,
    trace$: s.relink ? s.relink.trace$ : s.first.twin ? merge(s.first.ep.trace$, s.first.twin.trace$) : s.first.ep.trace$,
  });
};

/** After VERSION: DMA first (QEMU maps guest memory before anything else), then discovery and config. */
const afterVersion$ = (s: Stage): Observable<ClientDevice> => {
  const settled$: Observable<unknown> = s.dma.container?.settled$() ?? of(undefined);
  return settled$.pipe(
    switchMap(() => discover$(s.wire)),
    switchMap((d) => {
      const built = buildRegions(s.wire, d, s.first.neg, s.o, s.scope);
      return readConfig$(built.regions).pipe(map((config) => finish(s, d, built, config)));
    }),
  );
};

/** Realizes a device on a connection: VERSION, DMA maps, discovery, mappings, config space. */
const build$ = (conn: Connection, o: ResolvedOptions, peer: string, scope: Subscription, socketPath?: string): Observable<ClientDevice> =>
  link$(conn, o, peer).pipe(
    switchMap((first) => {
      // Until the device is handed over, the first link's resources go with the realize scope.
      scope.add(first.scope);
      const rl = o.reconnect ? relink(first.ep, o.reconnect.inFlight === 'retry') : undefined;
      const wire: Wire = { endpoint: rl ?? first.ep, closeFd: (fd) => o.native.close(fd) };
      const dma = attachDma(wire, first.neg, o, scope);
      first.scope.add(answerDmaOn(endpointsOf(first), dma, o));
      if (rl) scope.add(() => rl.close());
      return afterVersion$({ wire, first, relink: rl, dma, o, scope, socketPath });
    }),
  );

/**
 * Realizes a device from a socket path or a connected fd, as one stream: emits the device once
 * realized, then completes. Every failure is typed: ConnectError (no socket, refused, not a
 * vfio-user peer), VersionError, ReplyTimeoutError, RemoteError, MalformedMessageError, LimitError.
 * Unsubscribing before it emits releases everything it had opened.
 */
export const realize$ = (options: ClientOptions): Observable<ClientDevice> =>
  scoped((scope) =>
    defer(() => {
      const o = resolveOptions(options);
      return openChannel$(options, o.native).pipe(
        switchMap((channel) => {
          const conn = connection(channel, { closeFd: (fd) => o.native.close(fd), maxFrameSize: frameLimit(o) });
          scope.add(() => conn.close());
          return build$(conn, o, describePeer(options), scope, options.socketPath);
        }),
      );
    }),
  );

/** Realizes a device on an existing connection (e.g. a mock in tests); the device owns it from then on. */
export const realizeOn$ = (conn: Connection, options: ClientOptions = {}): Observable<ClientDevice> =>
  scoped((scope) => defer(() => build$(conn, resolveOptions(options), 'the peer', scope)));
