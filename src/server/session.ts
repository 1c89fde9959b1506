/** One client connection as a stream of fold events: VERSION first, then its commands in order. */
import { EMPTY, Observable, Subject, Subscription, catchError, concatMap, defer, finalize, shareReplay, take, timeout, type SchedulerLike } from 'rxjs';
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
  const { dmaReadWindow: window, dmaReadChunk: chunk } = rt.options.limits;
  return { endpoint: ep, dma: twin?.endpoint ?? ep, client: proposal.client, twin: twin !== undefined, reads: { window, chunk } };
};

const refuse = (rt: Runtime, ep: Endpoint, frame: Frame, err: unknown): void => {
  for (const fd of frame.fds) rt.io.close(fd);
  ep.replyError(frame, errnoOf(err));
  ep.close();
};

/**
 * The events of one session over one subscription to the endpoint's commands: the first frame is
 * the handshake (`start` gives the link, or undefined when it refused), then `attach`; each later
 * frame is a `command` event emitted straight to the fold (the path of every posted write, where
 * each operator in between cost a few percent); the end of the commands brings `detach` with the
 * connection's cause. Refused: it completes with no events.
 */
const sessionStream = (
  commands$: Observable<Frame>,
  closed$: Observable<Error>,
  start: (first: Frame) => SessionLink | undefined,
  first: Frame | undefined,
  closeFd: (fd: number) => void,
): Observable<DeviceEvent> =>
  new Observable<DeviceEvent>((out) => {
    let phase: 'handshake' | 'attached' | 'refused' = 'handshake';
    const subscription = new Subscription();
    const open = (frame: Frame) => {
      const link = start(frame);
      if (!link) {
        phase = 'refused';
        out.complete();
        return;
      }
      phase = 'attached';
      out.next({ kind: 'attach', link });
    };
    const end = () => {
      if (phase !== 'attached') return out.complete();
      subscription.add(
        closed$.pipe(take(1)).subscribe((err) => {
          out.next({ kind: 'detach', reason: err.message });
          out.complete();
        }),
      );
    };
    if (first) open(first);
    if (out.closed) return subscription;
    subscription.add(
      commands$.subscribe({
        next: (frame) => {
          if (phase === 'attached') out.next({ kind: 'command', frame });
          else if (phase === 'handshake') open(frame);
          else frame.fds.forEach(closeFd);
        },
        error: end,
        complete: end,
      }),
    );
    return subscription;
  });

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
    const subscription = new Subscription();
    subscription.add(closed$.subscribe(() => timers.dispose()));
    const start = (frame: Frame): SessionLink | undefined => {
      try {
        const link = handshake(rt, ep, frame, timers);
        if (link.twin) twin = link.dma;
        return link;
      } catch (err) {
        refuse(rt, ep, frame, err);
        return undefined;
      }
    };
    subscription.add(sessionStream(ep.commands$, closed$, start, first, closeFd).subscribe(subscriber));
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
