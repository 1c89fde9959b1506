/**
 * A device's connections to its server: one Link per connection (endpoint, twin socket, VERSION),
 * the end of a link, and with the reconnect option the next link (VERSION again, DMA maps and
 * interrupt eventfds handed over again) behind the relink endpoint.
 */
import { BehaviorSubject, EMPTY, ReplaySubject, Subject, Subscription, asyncScheduler, catchError, concat, defer, map, merge, of, retry, switchMap, take, throwError, timer, type Observable } from 'rxjs';
import { DisconnectedError, VersionError } from '../protocol/errors.js';
import { connection, type Connection } from '../wire/connection.js';
import { deadlineScheduler } from '../wire/deadlines.js';
import { endpoint, type Endpoint } from '../wire/endpoint.js';
import { answerDmaOn, frameLimit, openTwin, type Dma } from './attach-dma.js';
import type { Wire } from './call.js';
import { coalescing } from './coalesce.js';
import { openChannel$ } from './connect.js';
import type { ReconnectEvent } from './device.js';
import type { Interrupts } from './interrupts.js';
import { negotiate$, type Negotiated } from './negotiate.js';
import { ourCapabilities, type ResolvedOptions } from './options.js';
import { abandonAreas, type ClientRegion } from './region-access.js';
import type { Relink } from './relink.js';

/** One connection to the server after VERSION: its endpoint, the twin socket's, and what VERSION said. */
export interface Link {
  readonly ep: Endpoint;
  readonly twin: Endpoint | undefined;
  readonly neg: Negotiated;
  /** Whether posted writes may be coalesced into REGION_WRITE_MULTI on it. */
  readonly multi: boolean;
  /** This connection's resources (its endpoints, timers, DMA answering), released when it ends. */
  readonly scope: Subscription;
}

/** Opens a link on a connection: endpoint, VERSION, twin socket. On failure it releases what it opened. */
export const link$ = (conn: Connection, o: ResolvedOptions, peer: string): Observable<Link> =>
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

export const endpointsOf = (l: Link): Endpoint[] => (l.twin ? [l.ep, l.twin] : [l.ep]);

/** Emits once when either socket of a link ends, with the cause. */
const linkEnd$ = (l: Link): Observable<DisconnectedError> => merge(...endpointsOf(l).map((e) => e.closed$)).pipe(take(1));

export interface Stage {
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
export const watchLinks = (s: Stage, irq: Interrupts, regions: readonly ClientRegion[]) => {
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
