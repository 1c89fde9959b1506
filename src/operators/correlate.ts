import { Observable, asyncScheduler, type SchedulerLike, type Subscriber, type Subscription } from 'rxjs';
import { HeaderFlags, MessageType, commandName } from '../protocol/constants.js';
import {
  DisconnectedError,
  LimitError,
  MalformedMessageError,
  RemoteError,
  ReplyTimeoutError,
} from '../protocol/errors.js';
import type { Frame, OutgoingMessage } from '../streams/frame.js';

/** Options of one request. */
export interface RequestOptions {
  /** fds to send with the request (the caller keeps ownership). */
  readonly fds?: readonly number[];
  /** Send with No_reply: the observable completes once the message is handed to the socket. */
  readonly noReply?: boolean;
  /** Reply timeout in ms for this request (overrides the correlator's default; 0 = none). */
  readonly timeoutMs?: number;
}

/** Options of one awaited request (a call always waits for its reply). */
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
   * The same request as a promise, for callers that await one reply: it resolves with the reply
   * frame and rejects as the observable errors. It cannot be cancelled (the timeout still applies),
   * and it costs no Observable or Subscriber: the Promise facade's every register access is one.
   */
  call(command: number, payload?: Buffer | readonly Buffer[], options?: CallOptions): Promise<Frame>;
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

/** Whoever waits for a reply: an observable request's subscriber or a call's promise. */
interface Pending {
  readonly command: number;
  settle(frame: Frame): void;
  fail(err: unknown): void;
}

class SubscriberPending implements Pending {
  constructor(
    readonly command: number,
    readonly subscriber: Subscriber<Frame>,
  ) {}

  settle(frame: Frame): void {
    this.subscriber.next(frame);
    this.subscriber.complete();
  }

  fail(err: unknown): void {
    this.subscriber.error(err);
  }
}

class PromisePending implements Pending {
  timer: Subscription | undefined = undefined;

  constructor(
    readonly id: number,
    readonly command: number,
    readonly timeoutMs: number,
    private readonly resolve: (frame: Frame) => void,
    private readonly reject: (err: unknown) => void,
  ) {}

  settle(frame: Frame): void {
    this.timer?.unsubscribe();
    this.resolve(frame);
  }

  fail(err: unknown): void {
    this.timer?.unsubscribe();
    this.reject(err);
  }
}

/** A correlator fed directly: `deliver` hands it each reply frame (the socket's hot path). */
export interface DirectCorrelator extends Correlator {
  /** Takes one reply frame from the peer. */
  deliver(frame: Frame): void;
}

/**
 * Correlates replies with requests by our own 16-bit ids (never by anything the peer chooses for
 * its own requests). `send` writes a message.
 * The pending set lives in one Map keyed by id so that a reply costs O(1) even with thousands in
 * flight (a DMA_MAP transaction); an id timed out or cancelled stays out of use until its late
 * reply arrives or enough newer ids have passed, so a late reply never reaches a new request.
 */
export const createCorrelator = (send: (message: OutgoingMessage) => void, options: CorrelatorOptions): DirectCorrelator => {
  const scheduler = options.scheduler ?? asyncScheduler;
  const pending = new Map<number, Pending>();
  const quarantined = new Set<number>();
  const quarantineLimit = options.quarantine ?? 1024;
  let nextId = 0;
  let unmatched = 0;
  let ended: Error | undefined;

  const allocate = (): number => {
    for (let tries = 0; tries < 0x10000; tries++) {
      const id = nextId;
      nextId = (nextId + 1) & 0xffff;
      if (!pending.has(id) && !quarantined.has(id)) return id;
    }
    throw new LimitError('no free message id: 65536 requests in flight');
  };

  const retire = (id: number) => {
    pending.delete(id);
    quarantined.add(id);
    if (quarantined.size > quarantineLimit) quarantined.delete(quarantined.values().next().value!);
  };

  // A call's reply timer (one function for every call: the entry is its state).
  function timeOut(this: unknown, entry?: PromisePending) {
    if (!entry || pending.get(entry.id) !== entry) return;
    retire(entry.id);
    entry.fail(new ReplyTimeoutError(commandName(entry.command), entry.id, entry.timeoutMs));
  }

  const deliver = (frame: Frame) => {
    const entry = pending.get(frame.header.id);
    if (!entry) {
      quarantined.delete(frame.header.id);
      unmatched++;
      for (const fd of frame.fds) options.closeFd(fd);
      return;
    }
    pending.delete(frame.header.id);
    const command = entry.command;
    if (frame.header.command !== command) {
      for (const fd of frame.fds) options.closeFd(fd);
      entry.fail(new MalformedMessageError(commandName(command), 'command', `reply carries command ${frame.header.command}`));
    } else if (frame.header.flags & HeaderFlags.ERROR) {
      for (const fd of frame.fds) options.closeFd(fd);
      entry.fail(new RemoteError(commandName(command), frame.header.error));
    } else {
      entry.settle(frame);
    }
  };

  function failAll(cause: Error) {
    if (ended) return;
    ended = cause;
    const all = [...pending.values()];
    pending.clear();
    for (const entry of all) entry.fail(cause);
  }

  const request = (command: number, payload?: Buffer | readonly Buffer[], req: RequestOptions = {}) =>
    new Observable<Frame>((subscriber) => {
      if (ended) {
        subscriber.error(ended);
        return;
      }
      const id = allocate();
      const message = { id, command, flags: MessageType.COMMAND, payload, fds: req.fds };
      if (req.noReply) {
        send({ ...message, flags: MessageType.COMMAND | HeaderFlags.NO_REPLY });
        subscriber.complete();
        return;
      }
      // Registered before the write: a reply can never overtake its own registration.
      const entry = new SubscriberPending(command, subscriber);
      pending.set(id, entry);
      const timeoutMs = req.timeoutMs ?? options.timeoutMs;
      const timer =
        timeoutMs > 0
          ? scheduler.schedule(() => {
              retire(id);
              subscriber.error(new ReplyTimeoutError(commandName(command), id, timeoutMs));
            }, timeoutMs)
          : undefined;
      try {
        send(message);
      } catch (err) {
        pending.delete(id);
        subscriber.error(err);
      }
      return () => {
        timer?.unsubscribe();
        if (pending.get(id) === entry) retire(id);
      };
    });

  const call = (command: number, payload?: Buffer | readonly Buffer[], req?: CallOptions) =>
    new Promise<Frame>((resolve, reject) => {
      if (ended) return reject(ended);
      const id = allocate();
      const timeoutMs = req?.timeoutMs ?? options.timeoutMs;
      const entry = new PromisePending(id, command, timeoutMs, resolve, reject);
      pending.set(id, entry);
      if (timeoutMs > 0) entry.timer = scheduler.schedule(timeOut, timeoutMs, entry);
      try {
        send({ id, command, flags: MessageType.COMMAND, payload, fds: req?.fds });
      } catch (err) {
        pending.delete(id);
        entry.fail(err);
      }
    });

  return {
    request,
    call,
    deliver,
    failAll,
    get stats() {
      return { pending: pending.size, unmatchedReplies: unmatched };
    },
  };
};

/**
 * A correlator fed by a stream of reply frames (for compositions and marble tests): the end of
 * `replies$` fails every pending request with its cause.
 */
export const correlator = (
  replies$: Observable<Frame>,
  send: (message: OutgoingMessage) => void,
  options: CorrelatorOptions,
): Correlator & { readonly subscription: Subscription } => {
  const core = createCorrelator(send, options);
  const subscription = replies$.subscribe({
    next: core.deliver,
    error: (err: unknown) =>
      core.failAll(err instanceof DisconnectedError ? err : new DisconnectedError('connection failed', { cause: err })),
    complete: () => core.failAll(new DisconnectedError('connection closed by peer')),
  });
  return {
    request: core.request,
    call: core.call,
    failAll: core.failAll,
    subscription,
    get stats() {
      return core.stats;
    },
  };
};
