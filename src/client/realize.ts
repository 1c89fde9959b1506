import { BehaviorSubject, EMPTY, Observable, ReplaySubject, Subject, Subscription, asyncScheduler, catchError, concat, defer, map, merge, of, retry, switchMap, take, throwError, timer } from 'rxjs';
import { PciRegion, RegionFlags } from '../protocol/constants.js';
import { DisconnectedError, MalformedMessageError, VersionError } from '../protocol/errors.js';
import { connection, type Connection } from '../wire/connection.js';
import { endpoint, type Endpoint } from '../wire/endpoint.js';
import { parseConfigSpace, type ParsedConfig } from '../pci/parse.js';
import type { Wire } from './call.js';
import { coalescing } from './coalesce.js';
import { deadlineScheduler } from '../wire/deadlines.js';
import { describePeer, openChannel$ } from './connect.js';
import { assembleDevice, type ClientDevice, type ReconnectEvent } from './device.js';
import { discover$, type Discovery } from './discover.js';
import { answerDmaOn, attachDma, frameLimit, openTwin, type Dma } from './attach-dma.js';
import { interrupts, type Interrupts } from './interrupts.js';
import { migrationRequests } from './migration.js';
import { mapRegion, unmapAreas } from './mmap-regions.js';
import { negotiate$, type Negotiated } from './negotiate.js';
import { ourCapabilities, resolveOptions, type ClientOptions, type ResolvedOptions } from './options.js';
import { REGION_WRITE_OVERHEAD, abandonAreas, clientRegion, type ClientRegion } from './region-access.js';
import { relink, type Relink } from './relink.js';

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

/** One connection to the server after VERSION: its endpoint, the twin socket's, and what VERSION said. */
interface Link {
  readonly ep: Endpoint;
  readonly twin: Endpoint | undefined;
  readonly neg: Negotiated;
  /** Whether posted writes may be coalesced into REGION_WRITE_MULTI on it. */
  readonly multi: boolean;
  /** This connection's resources (its endpoints, timers, DMA answering), released when it ends. */
  readonly scope: Subscription;
}

/** Opens a link on a connection: endpoint, VERSION, twin socket. On failure it releases what it opened. */
const link$ = (conn: Connection, o: ResolvedOptions, peer: string): Observable<Link> =>
  defer(() => {
    const scope = new Subscription();
    scope.add(() => conn.close());
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
    return negotiate$({ endpoint: ep, closeFd }, { caps: ourCapabilities(o), peer }).pipe(
      map((neg): Link => {
        multi.next(o.writeMulti && neg.caps.write_multiple);
        const twin = neg.twinFd === undefined ? undefined : openTwin(neg.twinFd, o, scope);
        return { ep, twin, neg, multi: multi.value, scope };
      }),
      catchError((err: unknown) => {
        scope.unsubscribe();
        return throwError(() => err);
      }),
    );
  });

const endpointsOf = (l: Link): Endpoint[] => (l.twin ? [l.ep, l.twin] : [l.ep]);

/** Emits once when either socket of a link ends, with the cause. */
const linkEnd$ = (l: Link): Observable<DisconnectedError> => merge(...endpointsOf(l).map((e) => e.closed$)).pipe(take(1));

interface Stage {
  readonly wire: Wire;
  readonly first: Link;
  readonly relink: Relink | undefined;
  readonly dma: Dma;
  readonly o: ResolvedOptions;
  readonly scope: Subscription;
  readonly socketPath: string | undefined;
}

/** A reconnection attempt's path: a new connection, VERSION, the same limits, DMA answered, memory and interrupts handed over again. */
const relinked$ = (s: Stage, irq: Interrupts): Observable<Link> =>
  defer(() => openChannel$({ socketPath: s.socketPath! }, s.o.native)).pipe(
    switchMap((channel) => link$(connection(channel, { closeFd: (fd) => s.o.native.close(fd), maxFrameSize: frameLimit(s.o) }), s.o, s.socketPath!)),
    switchMap((l) => {
      const before = s.first.neg.caps;
      const now = l.neg.caps;
      if (now.max_data_xfer_size < before.max_data_xfer_size || now.max_msg_fds < before.max_msg_fds || (s.first.twin !== undefined) !== (l.twin !== undefined)) {
        l.scope.unsubscribe();
        throw new VersionError('the server came back with other limits than the device was realized with');
      }
      l.scope.add(answerDmaOn(endpointsOf(l), s.dma, s.o));
      const direct: Wire = { endpoint: l.ep, closeFd: s.wire.closeFd };
      return concat(s.dma.container?.replay$(direct) ?? EMPTY, irq.replay$(direct), of(l)).pipe(
        catchError((err: unknown) => {
          l.scope.unsubscribe();
          return throwError(() => err);
        }),
      );
    }),
  );

/**
 * Ends the device when a link ends, or (with reconnect) takes the next link: the relink holds
 * requests meanwhile, mapped regions are given up for messages, and attempts back off; when they
 * run out, interrupts$ and closed$ get the cause.
 */
const watchLinks = (s: Stage, irq: Interrupts, regions: readonly ClientRegion[]) => {
  const closed$ = new ReplaySubject<DisconnectedError>(1);
  const reconnects$ = new Subject<ReconnectEvent>();
  const end = (l: Link | undefined, cause: DisconnectedError) => {
    irq.end(cause);
    closed$.next(cause);
    reconnects$.complete();
    if (l) endpointsOf(l).forEach((e) => e.close());
  };
  const r = s.o.reconnect;
  const follow = (l: Link) => {
    s.scope.add(l.scope);
    s.scope.add(
      linkEnd$(l).subscribe((cause) => {
        if (!r || !s.relink) return end(l, cause);
        s.scope.remove(l.scope);
        l.scope.unsubscribe();
        s.relink.detach();
        regions.forEach((region) => abandonAreas(region.areas));
        reconnects$.next({ kind: 'lost', cause });
        const delay = (attempt: number) => Math.min(r.backoffMs * 2 ** (attempt - 1), r.maxBackoffMs);
        const sched = s.o.scheduler ?? asyncScheduler;
        s.scope.add(
          timer(delay(1), sched)
            .pipe(
              switchMap(() => relinked$(s, irq)),
              retry({
                count: r.attempts - 1,
                delay: (error: unknown, retries: number) => {
                  reconnects$.next({ kind: 'retrying', attempt: retries + 1, error });
                  return timer(delay(retries + 1), sched);
                },
              }),
            )
            .subscribe({
              next: (next) => {
                s.relink!.attach(next.ep);
                reconnects$.next({ kind: 'reconnected' });
                follow(next);
              },
              error: (err: unknown) => {
                const why = new DisconnectedError(`connection lost, and ${r.attempts} reconnection attempts failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
                s.relink!.giveUp(why);
                end(undefined, why);
              },
            }),
        );
      }),
    );
  };
  follow(s.first);
  return { closed$, reconnects$: reconnects$.asObservable() };
};

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
      const rl = o.reconnect ? relink(first.ep) : undefined;
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
