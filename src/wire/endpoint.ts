import { Observable, Subject, asyncScheduler, type SchedulerLike, type Unsubscribable } from 'rxjs';
import { HeaderFlags, MessageType } from '../protocol/constants.js';
import { Errno } from '../protocol/errno.js';
import { DisconnectedError } from '../protocol/errors.js';
import { isNoReply } from '../protocol/header.js';
import { createCorrelator, type CallOptions, type CorrelatorStats, type ReplyWaiter, type RequestOptions } from './correlate.js';
import type { Connection } from './connection.js';
import { isReplyFrame, type Frame } from '../protocol/frame.js';
import type { TraceEvent } from './trace.js';

/** One side of a vfio-user conversation: requests out with their replies, the peer's commands in. */
export interface Endpoint {
  /** Sends a command; emits its reply frame (see Correlator.request). */
  request(command: number, payload?: Buffer | readonly Buffer[], options?: RequestOptions): Observable<Frame>;
  /** Sends a command with No_reply (see Correlator.post). */
  post(command: number, payload?: Buffer | readonly Buffer[], fds?: readonly number[]): void;
  /** Sends a command whose outcome goes to `waiter` (see Correlator.issue). */
  issue(command: number, payload: Buffer | readonly Buffer[] | undefined, waiter: ReplyWaiter, options?: CallOptions): Unsubscribable;
  /**
   * Commands from the peer, in arrival order. Subscribe synchronously after creating the endpoint.
   * The subscriber owns each frame's fds. While nobody subscribes, commands get ENOSYS.
   * Completes when the connection ends (closed$ carries the cause).
   */
  readonly commands$: Observable<Frame>;
  /** Replies to a peer's command with a payload (no-op when it asked for no reply). */
  reply(to: Frame, payload?: Buffer | readonly Buffer[], fds?: readonly number[]): void;
  /** Replies to a peer's command with an error (header only; no-op when it asked for no reply). */
  replyError(to: Frame, errno: number): void;
  /** Emits once, the cause, when the connection ends (EOF, socket error, fatal protocol error, close). */
  readonly closed$: Observable<DisconnectedError>;
  readonly trace$: Observable<TraceEvent>;
  readonly stats: CorrelatorStats;
  /** Closes the connection; pending requests fail with DisconnectedError. Idempotent. */
  close(): void;
}

/** Options of an endpoint. */
export interface EndpointOptions {
  /** Default reply timeout (ms). */
  readonly timeoutMs: number;
  readonly scheduler?: SchedulerLike;
  readonly closeFd: (fd: number) => void;
}

/** Composes a connection into an endpoint: frames split into replies (correlated) and commands. */
export const endpoint = (conn: Connection, options: EndpointOptions): Endpoint => {
  const closed = new Subject<DisconnectedError>();
  const incoming = new Subject<Frame>();
  let cause: DisconnectedError | undefined;
  const end = (err: DisconnectedError) => {
    if (cause) return;
    cause = err;
    corr.failAll(err);
    incoming.complete();
    closed.next(err);
    closed.complete();
  };
  const reply = (to: Frame, payload?: Buffer | readonly Buffer[], fds?: readonly number[]) => {
    if (isNoReply(to.header) || conn.closed) return;
    conn.send({ id: to.header.id, command: to.header.command, flags: MessageType.REPLY, payload, fds });
  };
  const replyError = (to: Frame, errno: number) => {
    if (isNoReply(to.header) || conn.closed) return;
    conn.send({ id: to.header.id, command: to.header.command, flags: MessageType.REPLY | HeaderFlags.ERROR, error: errno });
  };
  const corr = createCorrelator(conn.send, {
    timeoutMs: options.timeoutMs,
    scheduler: options.scheduler ?? asyncScheduler,
    closeFd: options.closeFd,
  });
  // One subscriber routes every frame: replies to the correlator, commands to commands$.
  conn.frames$.subscribe({
    next: (frame) => {
      if (isReplyFrame(frame)) return corr.deliver(frame);
      if (incoming.observed) return incoming.next(frame);
      for (const fd of frame.fds) options.closeFd(fd);
      replyError(frame, Errno.ENOSYS);
    },
    error: (err: unknown) =>
      end(err instanceof DisconnectedError ? err : new DisconnectedError(`connection failed: ${(err as Error).message}`, { cause: err })),
    complete: () => end(new DisconnectedError('connection closed by peer')),
  });
  return {
    request: corr.request,
    post: corr.post,
    issue: corr.issue,
    commands$: incoming.asObservable(),
    reply,
    replyError,
    closed$: closed.asObservable(),
    trace$: conn.trace$,
    get stats() {
      return corr.stats;
    },
    close: () => {
      const err = new DisconnectedError('connection closed');
      end(err);
      corr.failAll(err);
      conn.close();
    },
  };
};
