/**
 * The tap's edges: one conversation between two channels as an Observable of events (relay$), and
 * a listening socket whose every client is relayed to a server's socket (tap$).
 */
import { NEVER, Observable, Subject, defer, merge, mergeMap, of, takeUntil } from 'rxjs';
import { errnoName } from '../protocol/errno.js';
import { native as defaultNative } from '../native/index.js';
import type { Channel } from '../native/types.js';
import { listen$, type ListenTarget } from '../streams/listen.js';
import { traceNow } from '../wire/trace.js';
import type { TapEvent } from './events.js';
import { relay, type RelayOptions } from './relay.js';

/**
 * Relays between a client's and a server's channel (both not started; the relay owns them) while
 * subscribed: each message passed on, then `closed` (and completion) when a side ends it.
 * Unsubscribing closes both sides.
 */
export const relay$ = (client: Channel, server: Channel, options: RelayOptions = {}, stop$: Observable<unknown> = NEVER): Observable<TapEvent> =>
  new Observable<TapEvent>((subscriber) => {
    const running = relay(client, server, options, {
      message: (e) => subscriber.next(e),
      closed: (e) => {
        subscriber.next(e);
        subscriber.complete();
      },
    });
    // Stopped from outside: the relay ends both sides and reports it (`closed`, by the tap), then completes.
    subscriber.add(stop$.subscribe(() => running.unsubscribe()));
    return () => running.unsubscribe();
  });

/** What a tap listens on and where it connects each client. */
export interface TapTarget {
  /** Where clients connect: a path to create (mode 0600 unless `mode`), or a listening fd. */
  readonly listen: ListenTarget;
  /** The server's socket path, connected to once per client. */
  readonly connect: string;
}

/** Options of tap$. */
export interface TapOptions extends Omit<RelayOptions, 'session'> {
  /** File mode of the listening socket (default 0600). */
  readonly mode?: number;
  /**
   * Stops the tap when it emits: no more clients, every conversation ended and reported (`closed`,
   * by the tap), then completion. Unsubscribing stops it too, but reports nothing.
   */
  readonly stop$?: Observable<unknown>;
}

/** The tap's own events besides each conversation's. */
export type TapListening = { readonly kind: 'listening'; readonly path?: string };

const connectFailure = (err: unknown, path: string): string => {
  const errno = (err as { errno?: unknown }).errno;
  return `cannot connect to the server at ${path}: ${typeof errno === 'number' ? errnoName(errno) : (err as Error).message}; the tap closed the client`;
};

/** One client: connect to the server, then relay; a server that cannot be reached closes the client. */
const conversation$ = (client: Channel, target: TapTarget, options: TapOptions, session: number): Observable<TapEvent> =>
  defer(() => {
    const n = options.native ?? defaultNative;
    let server: Channel;
    try {
      server = n.connect(target.connect);
    } catch (err) {
      client.close();
      return of<TapEvent>({ kind: 'closed', session, by: 'tap', reason: connectFailure(err, target.connect), corrupt: false, timestamp: traceNow() });
    }
    return merge(of<TapEvent>({ kind: 'connected', session, timestamp: traceNow() }), relay$(client, server, { ...options, session }, options.stop$));
  });

/**
 * A tap: listens on `target.listen` and relays every client that connects to a new connection to
 * `target.connect`, each conversation on its own (numbered from 1). Emits `listening` once bound,
 * then every conversation's events. Unsubscribing closes every conversation and the listener, and
 * removes the socket file it created.
 */
export const tap$ = (target: TapTarget, options: TapOptions = {}): Observable<TapEvent | TapListening> =>
  defer(() => {
    const n = options.native ?? defaultNative;
    const listening = new Subject<TapListening>();
    const path = 'socketPath' in target.listen ? target.listen.socketPath : undefined;
    const channels$ = new Observable<Channel>((subscriber) => {
      const inner = listen$(n, target.listen, options.mode ?? 0o600).subscribe(subscriber);
      if (!inner.closed) listening.next({ kind: 'listening', ...(path === undefined ? {} : { path }) });
      listening.complete();
      return inner;
    });
    let sessions = 0;
    // On stop$ the listener closes (no new client), each conversation ends by itself, and then the tap completes.
    const accepted$ = channels$.pipe(takeUntil(options.stop$ ?? NEVER));
    return merge(listening, accepted$.pipe(mergeMap((client) => conversation$(client, target, options, ++sessions))));
  });
