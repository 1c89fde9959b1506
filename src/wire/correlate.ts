import { Observable, Subscription, asyncScheduler, type SchedulerLike, type Subscriber, type Unsubscribable } from 'rxjs';
import { HeaderFlags, MessageType, commandName } from '../protocol/constants.js';
import { MalformedMessageError, RemoteError, ReplyTimeoutError } from '../protocol/errors.js';
import type { Frame, OutgoingMessage } from '../protocol/frame.js';
import { messageIds } from './message-ids.js';

/** Options of one request. */
export interface RequestOptions {
  /** fds to send with the request (the caller keeps ownership). */
  readonly fds?: readonly number[];
  /** Send with No_reply: the observable completes once the message is handed to the socket. */
  readonly noReply?: boolean;
  /** Reply timeout in ms for this request (overrides the correlator's default; 0 = none). */
  readonly timeoutMs?: number;
}

/** Who waits for the reply of an issued request. Exactly one of its methods is called, once. */
export interface ReplyWaiter {
  /** The reply (not an error reply); the waiter owns its fds. */
  settle(frame: Frame): void;
  /**
   * The request failed: RemoteError (error reply), MalformedMessageError (a reply to another
   * command), ReplyTimeoutError, the cause the correlator was failed with, or what send threw.
   */
  fail(err: unknown): void;
}

/** Options of one issued request (it always waits for its reply). */
export type CallOptions = Omit<RequestOptions, 'noReply'>;

/** Counters of a correlator, for monitoring and tests. */
export interface CorrelatorStats {
  /** Requests awaiting their reply. */
  readonly pending: number;
  /** Replies that matched no pending request (late after a timeout, or bogus), dropped. */
  readonly unmatchedReplies: number;
}

/** Sends requests and hands each its own reply. */
export interface Correlator {
  /**
   * A cold observable: on subscription allocates an id, sends the command and emits the reply
   * frame, then completes. An error reply errors with RemoteError; no reply in time errors with
   * ReplyTimeoutError; the end of the connection errors with DisconnectedError. Unsubscribing
   * cancels: a reply that comes later is dropped and counted.
   */
  request(command: number, payload?: Buffer | readonly Buffer[], options?: RequestOptions): Observable<Frame>;
  /**
   * Sends a command with No_reply, at once: what request() with `noReply` does, with nothing to
   * subscribe to (posted writes). Throws what the connection throws (ClosedError), or the cause
   * the correlator was failed with.
   */
  post(command: number, payload?: Buffer | readonly Buffer[], fds?: readonly number[]): void;
  /**
   * The primitive under request(): sends a command whose outcome goes to `waiter`,
   * and returns what cancels it (a reply that comes later is dropped and counted). For a
   * composition that would otherwise wrap a request's Observable in its own: the waiter is its
   * only object per request.
   */
  issue(command: number, payload: Buffer | readonly Buffer[] | undefined, waiter: ReplyWaiter, options?: CallOptions): Unsubscribable;
  readonly stats: CorrelatorStats;
  /** Fails every pending request (and every later one) with `cause`. */
  failAll(cause: Error): void;
}

/** Options of a correlator. */
export interface CorrelatorOptions {
  /** Default reply timeout in ms (QEMU's x-msg-timeout default is 5000); 0 = none. */
  readonly timeoutMs: number;
  readonly scheduler?: SchedulerLike;
  /** Closes fds of replies nobody takes. */
  readonly closeFd: (fd: number) => void;
  /** Ids quarantined after a timeout or cancel before they may be reused (default 1024). */
  readonly quarantine?: number;
}

/** An observable request's subscriber, as a waiter. */
class SubscriberWaiter implements ReplyWaiter {
  constructor(private readonly subscriber: Subscriber<Frame>) {}

  settle(frame: Frame): void {
    this.subscriber.next(frame);
    this.subscriber.complete();
  }

  fail(err: unknown): void {
    this.subscriber.error(err);
  }
}

/** A request awaiting its reply: its waiter, its timer, and how it is cancelled. */
class Waiting implements Unsubscribable {
  timer: Subscription | undefined = undefined;

  constructor(
    readonly id: number,
    readonly command: number,
    readonly timeoutMs: number,
    readonly waiter: ReplyWaiter,
    private readonly cancel: (entry: Waiting) => void,
  ) {}

  unsubscribe(): void {
    this.timer?.unsubscribe();
    this.cancel(this);
  }
}

/** A correlator fed directly: `deliver` hands it each reply frame (the socket's hot path). */
export interface DirectCorrelator extends Correlator {
  /** Takes one reply frame from the peer. */
  deliver(frame: Frame): void;
}

/**
 * Correlates replies with requests by our own 16-bit ids (never by anything the peer chooses for
 * its own requests). `send` writes a message. The ids, and the quarantine that keeps a late reply
 * from reaching a newer request, are messageIds'.
 */
export const createCorrelator = (send: (message: OutgoingMessage) => void, options: CorrelatorOptions): DirectCorrelator => {
  const scheduler = options.scheduler ?? asyncScheduler;
  const ids = messageIds<Waiting>(options.quarantine);
  let unmatched = 0;
  let ended: Error | undefined;

  // A request's reply timer (one function for every request: the entry is its state).
  function timeOut(this: unknown, entry?: Waiting) {
    if (!entry || ids.get(entry.id) !== entry) return;
    ids.retire(entry.id);
    entry.waiter.fail(new ReplyTimeoutError(commandName(entry.command), entry.id, entry.timeoutMs));
  }

  // Cancelled by its issuer: the id waits in quarantine for the reply that may still come.
  const cancel = (entry: Waiting) => {
    if (ids.get(entry.id) === entry) ids.retire(entry.id);
  };

  const deliver = (frame: Frame) => {
    const entry = ids.get(frame.header.id);
    if (!entry) {
      ids.unmatched(frame.header.id);
      unmatched++;
      for (const fd of frame.fds) options.closeFd(fd);
      return;
    }
    ids.free(frame.header.id);
    entry.timer?.unsubscribe();
    const command = entry.command;
    if (frame.header.command !== command) {
      for (const fd of frame.fds) options.closeFd(fd);
      entry.waiter.fail(new MalformedMessageError(commandName(command), 'command', `reply carries command ${frame.header.command}`));
    } else if (frame.header.flags & HeaderFlags.ERROR) {
      for (const fd of frame.fds) options.closeFd(fd);
      entry.waiter.fail(new RemoteError(commandName(command), frame.header.error));
    } else {
      entry.waiter.settle(frame);
    }
  };

  function failAll(cause: Error) {
    if (ended) return;
    ended = cause;
    for (const entry of ids.drain()) {
      entry.timer?.unsubscribe();
      entry.waiter.fail(cause);
    }
  }

  const post = (command: number, payload?: Buffer | readonly Buffer[], fds?: readonly number[]) => {
    if (ended) throw ended;
    send({ id: ids.next(), command, flags: MessageType.COMMAND | HeaderFlags.NO_REPLY, payload, fds });
  };

  const issue = (command: number, payload: Buffer | readonly Buffer[] | undefined, waiter: ReplyWaiter, req?: CallOptions): Unsubscribable => {
    let id: number;
    try {
      if (ended) throw ended;
      id = ids.next();
    } catch (err) {
      waiter.fail(err);
      return Subscription.EMPTY;
    }
    const timeoutMs = req?.timeoutMs ?? options.timeoutMs;
    const entry = new Waiting(id, command, timeoutMs, waiter, cancel);
    // Registered before the write: a reply can never overtake its own registration.
    ids.wait(id, entry);
    if (timeoutMs > 0) entry.timer = scheduler.schedule(timeOut, timeoutMs, entry);
    try {
      send({ id, command, flags: MessageType.COMMAND, payload, fds: req?.fds });
    } catch (err) {
      ids.free(id);
      entry.timer?.unsubscribe();
      waiter.fail(err);
    }
    return entry;
  };

  const request = (command: number, payload?: Buffer | readonly Buffer[], req: RequestOptions = {}) =>
    new Observable<Frame>((subscriber) => {
      if (!req.noReply) return issue(command, payload, new SubscriberWaiter(subscriber), req);
      post(command, payload, req.fds);
      subscriber.complete();
      return undefined;
    });

  return {
    request,
    post,
    issue,
    deliver,
    failAll,
    get stats() {
      return { pending: ids.waiting, unmatchedReplies: unmatched };
    },
  };
};
