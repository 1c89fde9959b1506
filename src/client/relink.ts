/**
 * An endpoint that outlives its connections, for a client that reconnects: the device's requests
 * go to the connection of the moment; while there is none they are held, and issued in order on
 * the next one, or failed with the cause when the client gives up.
 */
import { BehaviorSubject, EMPTY, Observable, ReplaySubject, Subscription, switchMap, type Unsubscribable } from 'rxjs';
import { DisconnectedError } from '../protocol/errors.js';
import type { Frame } from '../protocol/frame.js';
import type { CallOptions, CorrelatorStats, ReplyWaiter, RequestOptions } from '../wire/correlate.js';
import type { Endpoint } from '../wire/endpoint.js';

/** An endpoint whose connection can be replaced. */
export interface Relink extends Endpoint {
  /** The endpoint of the connection of the moment (undefined while reconnecting). */
  readonly current$: Observable<Endpoint | undefined>;
  /** Installs a new connection's endpoint; the requests held meanwhile are issued on it, in order. */
  attach(ep: Endpoint): void;
  /** The connection went away: requests are held until `attach` (or failed by `giveUp`). */
  detach(): void;
  /** No more connections: held and later requests fail with `cause`, closed$ emits it. */
  giveUp(cause: DisconnectedError): void;
}

/** A request held while there is no connection. */
interface Held {
  readonly command: number;
  readonly payload: Buffer | readonly Buffer[] | undefined;
  /** undefined for a posted message. */
  readonly waiter: ReplyWaiter | undefined;
  readonly options: CallOptions | undefined;
  cancelled: boolean;
  issued: Unsubscribable | undefined;
}

/** A request observable's subscriber as a waiter. */
const subscriberWaiter = (subscriber: { next(f: Frame): void; complete(): void; error(e: unknown): void }): ReplyWaiter => ({
  settle: (frame) => {
    subscriber.next(frame);
    subscriber.complete();
  },
  fail: (err) => subscriber.error(err),
});

/**
 * Creates a relink on its first connection's endpoint. With `retryInFlight`, a request that fails
 * because its connection ended is held and issued again on the next connection.
 */
export const relink = (first: Endpoint, retryInFlight = false): Relink => {
  const current = new BehaviorSubject<Endpoint | undefined>(first);
  const closed = new ReplaySubject<DisconnectedError>(1);
  let held: Held[] = [];
  let gaveUp: DisconnectedError | undefined;

  const issue = (command: number, payload: Buffer | readonly Buffer[] | undefined, waiter: ReplyWaiter, options?: CallOptions): Unsubscribable => {
    if (gaveUp) {
      waiter.fail(gaveUp);
      return Subscription.EMPTY;
    }
    const ep = current.value;
    if (ep && !retryInFlight) return ep.issue(command, payload, waiter, options);
    const h: Held = { command, payload, waiter, options, cancelled: false, issued: undefined };
    if (ep) {
      h.issued = ep.issue(command, payload, retrying(h), options);
      return { unsubscribe: () => ((h.cancelled = true), h.issued?.unsubscribe()) };
    }
    held.push(h);
    return {
      unsubscribe: () => {
        h.cancelled = true;
        h.issued?.unsubscribe();
      },
    };
  };

  // A waiter that, when its connection ends under it, holds its request for the next one.
  const retrying = (h: Held): ReplyWaiter => ({
    settle: (frame) => h.waiter!.settle(frame),
    fail: (err) => {
      if (err instanceof DisconnectedError && !gaveUp && !h.cancelled) held.push(h);
      else h.waiter!.fail(err);
    },
  });

  const post = (command: number, payload?: Buffer | readonly Buffer[], fds?: readonly number[]): void => {
    if (gaveUp) throw gaveUp;
    const ep = current.value;
    if (ep) return ep.post(command, payload, fds);
    // Posted messages carry no fds (only DMA_MAP and SET_IRQS do, and they wait for their replies).
    held.push({ command, payload, waiter: undefined, options: undefined, cancelled: false, issued: undefined });
  };

  return {
    current$: current.asObservable(),
    request: (command: number, payload?: Buffer | readonly Buffer[], options: RequestOptions = {}) =>
      new Observable<Frame>((subscriber) => {
        if (!options.noReply) return issue(command, payload, subscriberWaiter(subscriber), options);
        post(command, payload, options.fds);
        subscriber.complete();
        return undefined;
      }),
    issue,
    post,
    commands$: current.pipe(switchMap((ep) => ep?.commands$ ?? EMPTY)),
    reply: (to, payload, fds) => current.value?.reply(to, payload, fds),
    replyError: (to, errno) => current.value?.replyError(to, errno),
    closed$: closed.asObservable(),
    trace$: current.pipe(switchMap((ep) => ep?.trace$ ?? EMPTY)),
    get stats(): CorrelatorStats {
      return current.value?.stats ?? { pending: held.length, unmatchedReplies: 0 };
    },
    close: () => {
      const ep = current.value;
      if (!gaveUp) {
        held.forEach((h) => h.waiter?.fail(new DisconnectedError('connection closed')));
        held = [];
      }
      ep?.close();
    },
    attach: (ep) => {
      if (gaveUp) return ep.close();
      current.next(ep);
      const queue = held;
      held = [];
      for (const h of queue) {
        if (h.cancelled) continue;
        if (!h.waiter) ep.post(h.command, h.payload);
        else h.issued = ep.issue(h.command, h.payload, retryInFlight ? retrying(h) : h.waiter, h.options);
      }
    },
    detach: () => current.next(undefined),
    giveUp: (cause) => {
      if (gaveUp) return;
      gaveUp = cause;
      current.next(undefined);
      for (const h of held) if (!h.cancelled) h.waiter?.fail(cause);
      held = [];
      closed.next(cause);
      closed.complete();
    },
  };
};
