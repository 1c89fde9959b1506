import { BehaviorSubject, Observable, ReplaySubject, Subscription, defer, map, merge, of, switchMap, take } from 'rxjs';
import { PciRegion, RegionFlags } from '../protocol/constants.js';
import { MalformedMessageError, type DisconnectedError } from '../protocol/errors.js';
import { connection, type Connection } from '../wire/connection.js';
import { endpoint } from '../wire/endpoint.js';
import { parseConfigSpace, type ParsedConfig } from '../pci/parse.js';
import type { Wire } from './call.js';
import { coalescing } from './coalesce.js';
import { deadlineScheduler } from '../wire/deadlines.js';
import { describePeer, openChannel$ } from './connect.js';
import { assembleDevice, type ClientDevice } from './device.js';
import { discover$, type Discovery } from './discover.js';
import { attachDma, frameLimit, type Dma } from './attach-dma.js';
import { interrupts } from './interrupts.js';
import { migrationRequests } from './migration.js';
import { mapRegion, unmapAreas } from './mmap-regions.js';
import { negotiate$, type Negotiated } from './negotiate.js';
import { ourCapabilities, resolveOptions, type ClientOptions, type ResolvedOptions } from './options.js';
import { REGION_WRITE_OVERHEAD, clientRegion, type ClientRegion } from './region-access.js';

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
interface Stage {
  readonly wire: Wire;
  readonly neg: Negotiated;
  readonly dma: Dma;
  readonly multi: boolean;
  readonly o: ResolvedOptions;
  readonly scope: Subscription;
}

/** Ends the device when either socket ends: interrupts$ and closed$ get the same cause. */
const watchEnd = (s: Stage, irq: ReturnType<typeof interrupts>): ReplaySubject<DisconnectedError> => {
  const closed$ = new ReplaySubject<DisconnectedError>(1);
  const ep = s.wire.endpoint;
  const ends = s.dma.twin ? [ep.closed$, s.dma.twin.closed$] : [ep.closed$];
  s.scope.add(
    merge(...ends).pipe(take(1)).subscribe((cause) => {
      irq.end(cause);
      closed$.next(cause);
      ep.close();
      s.dma.twin?.close();
    }),
  );
  return closed$;
};

const finish = (s: Stage, d: Discovery, built: Built, config: { bytes: Buffer; parsed: ParsedConfig }): ClientDevice => {
  const irq = interrupts({ wire: s.wire, irqs: d.irqs, maxMsgFds: s.neg.caps.max_msg_fds, native: s.o.native, autoAck: s.o.autoAck });
  return assembleDevice({
    wire: s.wire,
    version: { major: s.neg.major, minor: s.neg.minor },
    caps: s.neg.caps,
    info: d.info,
    regions: built.regions,
    irqs: d.irqs,
    config: config.parsed,
    configBytes: config.bytes,
    flags: { twinSocket: s.dma.twin !== undefined, dmaMode: s.dma.dmaMode, postedWrites: built.postedWrites, writeMulti: s.multi },
    warnings: [...built.warnings, ...config.parsed.warnings],
    container: s.dma.container,
    interrupts: irq,
    migration: migrationRequests(s.wire, s.neg.caps.max_data_xfer_size, s.dma.dirty),
    closed$: watchEnd(s, irq),
    scope: s.scope,
    trace$: s.dma.twin ? merge(s.wire.endpoint.trace$, s.dma.twin.trace$) : s.wire.endpoint.trace$,
  });
};

/** After VERSION: DMA first (QEMU maps guest memory before anything else), then discovery and config. */
const afterVersion$ = (s: Stage): Observable<ClientDevice> => {
  const settled$: Observable<unknown> = s.dma.container?.settled$() ?? of(undefined);
  return settled$.pipe(
    switchMap(() => discover$(s.wire)),
    switchMap((d) => {
      const built = buildRegions(s.wire, d, s.neg, s.o, s.scope);
      return readConfig$(built.regions).pipe(map((config) => finish(s, d, built, config)));
    }),
  );
};

/** Realizes a device on a connection: VERSION, DMA maps, discovery, mappings, config space. */
const build$ = (conn: Connection, o: ResolvedOptions, peer: string, scope: Subscription): Observable<ClientDevice> =>
  defer(() => {
    const closeFd = (fd: number) => o.native.close(fd);
    const multi = new BehaviorSubject(false);
    const sched = o.scheduler ? { scheduler: o.scheduler } : {};
    const wrapped = coalescing(conn, { enabled: () => multi.value, thresholdBytes: o.writeMultiThreshold, ...sched });
    // Reply timeouts share one timer of the scheduler instead of setting one per request.
    const timers = deadlineScheduler(o.scheduler);
    const ep = endpoint(wrapped, { timeoutMs: o.timeoutMs, closeFd, scheduler: timers });
    scope.add(() => timers.dispose());
    scope.add(ep.closed$.subscribe(() => timers.dispose()));
    if (o.onTrace) scope.add(ep.trace$.subscribe(o.onTrace));
    scope.add(() => ep.close());
    const wire: Wire = { endpoint: ep, closeFd };
    return negotiate$(wire, { caps: ourCapabilities(o), peer }).pipe(
      switchMap((neg) => {
        multi.next(o.writeMulti && neg.caps.write_multiple);
        const dma = attachDma(wire, neg, o, scope);
        return afterVersion$({ wire, neg, dma, multi: multi.value, o, scope });
      }),
    );
  });

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
          return build$(conn, o, describePeer(options), scope);
        }),
      );
    }),
  );

/** Realizes a device on an existing connection (e.g. a mock in tests); the device owns it from then on. */
export const realizeOn$ = (conn: Connection, options: ClientOptions = {}): Observable<ClientDevice> =>
  scoped((scope) => defer(() => build$(conn, resolveOptions(options), 'the peer', scope)));
