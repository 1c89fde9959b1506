/** One client connection as a stream of fold events: VERSION first, then its commands in order. */
import { EMPTY, Observable, Subject, Subscription, catchError, concat, concatMap, connect, defer, finalize, map, of, shareReplay, take, timeout, type SchedulerLike } from 'rxjs';
import { HeaderFlags, MessageType } from '../protocol/constants.js';
import { isNoReply } from '../protocol/header.js';
import { Errno } from '../protocol/errno.js';
import { deadlineScheduler } from '../wire/deadlines.js';
import type { Channel } from '../native/types.js';
import { connection, type Connection } from '../wire/connection.js';
import type { Frame } from '../protocol/frame.js';
import { endpoint, type Endpoint } from '../wire/endpoint.js';
import { decodeProposal, versionReply, wantsTwin } from './commands/version.js';
import { errnoOf } from './errors.js';
import type { Runtime } from './runtime.js';
import type { ServerIo } from './io.js';
import type { ServerLimits, SessionLink } from './state.js';
import type { DeviceEvent } from './step.js';

/** Opens the twin socket: our end as an endpoint, the client's end to send (closed after the send). */
const openTwin = (rt: Runtime, timers: SchedulerLike): { endpoint: Endpoint; peerFd: number } | undefined => {
  let pair: [number, number];
  try {
    pair = rt.io.socketpair();
  } catch {
    return undefined;
  }
  try {
    const closeFd = (fd: number) => rt.io.close(fd);
    const conn = connection(rt.io.channelFromFd(pair[0]), { closeFd });
    if (rt.options.onTrace) conn.trace$.subscribe(rt.options.onTrace);
    return { endpoint: endpoint(conn, { timeoutMs: rt.options.timeoutMs, closeFd, scheduler: timers }), peerFd: pair[1] };
  } catch {
    rt.io.close(pair[0]);
    rt.io.close(pair[1]);
    return undefined;
  }
};

/**
 * Negotiates on the first frame and replies; throws (EINVAL) when it is not an acceptable
 * VERSION. The twin socket is offered when the client proposes it and can take its fd.
 */
const handshake = (rt: Runtime, ep: Endpoint, frame: Frame, timers: SchedulerLike): SessionLink => {
  const proposal = decodeProposal(frame);
  let twin = wantsTwin(proposal) ? openTwin(rt, timers) : undefined;
  const reply = versionReply(proposal, rt.options.limits, twin !== undefined);
  if (!reply.twin && twin) {
    twin.endpoint.close();
    rt.io.close(twin.peerFd);
    twin = undefined;
  }
  ep.reply(frame, reply.payload, twin ? [twin.peerFd] : []);
  if (twin) rt.io.close(twin.peerFd);
  return { endpoint: ep, dma: twin?.endpoint ?? ep, client: proposal.client, twin: twin !== undefined };
};

const refuse = (rt: Runtime, ep: Endpoint, frame: Frame, err: unknown): Observable<never> => {
  for (const fd of frame.fds) rt.io.close(fd);
  ep.replyError(frame, errnoOf(err));
  ep.close();
  return EMPTY;
};

/** The events after a good VERSION: attach, every later command, then detach with the cause of the end. */
const attached = (link: SessionLink, frames$: Observable<Frame>, closed$: Observable<Error>): Observable<DeviceEvent> =>
  concat(
    of<DeviceEvent>({ kind: 'attach', link }),
    frames$.pipe(
      map((frame): DeviceEvent => ({ kind: 'command', frame })),
      catchError(() => EMPTY),
    ),
    closed$.pipe(
      take(1),
      map((err): DeviceEvent => ({ kind: 'detach', reason: err.message })),
    ),
  );

/**
 * The events of one connection: `attach` after a good VERSION, every later command, and
 * `detach` when the connection ends. A bad first message gets an error reply and the
 * connection is closed with no events. Unsubscribing closes the connection (and the twin).
 * `first`: the first message when it was already read off `conn` (see serveIfFreed).
 */
export const sessionEvents = (conn: Connection, rt: Runtime, first?: Frame): Observable<DeviceEvent> =>
  new Observable<DeviceEvent>((subscriber) => {
    const closeFd = (fd: number) => rt.io.close(fd);
    // Our DMA requests' reply timeouts, nearly all cancelled by the reply: no OS timer per request.
    const timers = deadlineScheduler();
    const ep = endpoint(conn, { timeoutMs: rt.options.timeoutMs, closeFd, scheduler: timers });
    let twin: Endpoint | undefined;
    // The cause is kept from the start: commands$ completes just before closed$ emits it.
    const closed$ = ep.closed$.pipe(shareReplay(1));
    // A container of its own: closed$'s subscriber ends with closed$, and must not take the events
    // with it (a refused first message closes the endpoint before the refusal's EMPTY is subscribed,
    // and the session then has to complete, or no later client is ever served).
    const subscription = new Subscription();
    subscription.add(closed$.subscribe(() => timers.dispose()));
    const onFirst = (first: Frame, frames$: Observable<Frame>): Observable<DeviceEvent> => {
      let link: SessionLink;
      try {
        link = handshake(rt, ep, first, timers);
      } catch (err) {
        return refuse(rt, ep, first, err);
      }
      if (link.twin) twin = link.dma;
      return attached(link, frames$, closed$);
    };
    const events$ = ep.commands$.pipe(
      connect((frames$) => (first ? onFirst(first, frames$) : frames$.pipe(take(1), concatMap((f) => onFirst(f, frames$))))),
      catchError(() => EMPTY),
    );
    subscription.add(events$.subscribe(subscriber));
    return () => {
      subscription.unsubscribe();
      twin?.close();
      ep.close();
      timers.dispose();
    };
  });

/** How long a client that came while another is served has to send its first message before it is closed. */
export const BUSY_FIRST_MESSAGE_MS = 5000;

/** `conn` whose frames are those of `rest` (its first one already taken); everything else is `conn`'s own. */
const resumed = (conn: Connection, rest: Observable<Frame>): Connection => Object.create(conn, { frames$: { value: rest } }) as Connection;

/**
 * A client that connects while another is served. Its frames are held until its first message: if
 * the slot is free by then (the previous client's end had only not been noticed yet, as when a
 * client dies and its successor connects in the same turn of the loop), it is served with that
 * message; otherwise the message gets EBUSY ("in use by another client") and the connection is
 * closed. A client that sends nothing is closed after BUSY_FIRST_MESSAGE_MS.
 */
export const serveIfFreed = (
  conn: Connection,
  rt: Runtime,
  isFree: () => boolean,
  serveIt: (conn: Connection, first: Frame) => Observable<DeviceEvent>,
): Observable<DeviceEvent> =>
  defer(() => {
    const live = new Subject<Frame>();
    const holding = conn.frames$.subscribe(live);
    const refuse = (first: Frame) => {
      for (const fd of first.fds) rt.io.close(fd);
      if (isNoReply(first.header)) return;
      conn.send({ id: first.header.id, command: first.header.command, flags: MessageType.REPLY | HeaderFlags.ERROR, error: Errno.EBUSY });
    };
    return live.pipe(
      take(1),
      timeout({ first: BUSY_FIRST_MESSAGE_MS, with: () => EMPTY }),
      catchError(() => EMPTY),
      // Decided as the first message arrives, so no later frame can slip past the served endpoint.
      concatMap((first) => (isFree() ? serveIt(resumed(conn, live), first) : (refuse(first), EMPTY))),
      finalize(() => {
        holding.unsubscribe();
        conn.close();
      }),
    );
  });

/** A socket channel as a connection whose frame limit fits our max_data_xfer_size. */
export const serverConnection = (io: ServerIo, limits: ServerLimits, channel: Channel): Connection =>
  connection(channel, { closeFd: (fd) => io.close(fd), maxFrameSize: limits.maxDataXferSize + 4096 });
