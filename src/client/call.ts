import { Observable, type Unsubscribable } from 'rxjs';
import type { CallOptions, ReplyWaiter } from '../wire/correlate.js';
import type { Frame } from '../protocol/frame.js';
import type { Endpoint } from '../wire/endpoint.js';

/** What client compositions need to talk to the server. */
export interface Wire {
  readonly endpoint: Endpoint;
  /** Closes an fd we own (received ones included). */
  readonly closeFd: (fd: number) => void;
}

/** Closes the fds of a frame that is not supposed to carry any. */
export const dropFds = (wire: Wire, frame: Frame): Buffer => {
  if (frame.fds.length > 0) frame.fds.forEach(wire.closeFd);
  return frame.payload;
};

/**
 * Where one request's outcome goes: `next` with its value (any number of times, usually once), then
 * `complete`; or `error`. A Subscriber is one, and so is the Promise facade's settler: the request
 * primitive below serves both, so neither adapter makes the other's objects.
 */
export interface Sink<T> {
  next(value: T): void;
  error(err: unknown): void;
  complete(): void;
}

/**
 * Hands a request's outcome to its sink. A class: its methods are made once, where an observer
 * literal would make closures per request; and it is the request's only waiter (Endpoint.issue),
 * so nothing else is made for the request.
 */
class Relay<T> implements ReplyWaiter {
  constructor(
    private readonly wire: Wire,
    private readonly sink: Sink<T>,
    private readonly onReply: (reply: Buffer, sink: Sink<T>) => void,
  ) {}

  settle(frame: Frame): void {
    try {
      this.onReply(dropFds(this.wire, frame), this.sink);
    } catch (err) {
      this.sink.error(err);
      return;
    }
    this.sink.complete();
  }

  fail(err: unknown): void {
    this.sink.error(err);
  }
}

/**
 * The client's one request primitive: sends `command` and hands the reply payload (fds closed) to
 * `onReply`, which emits what it wants into `sink`; whatever it throws fails the sink, and so do
 * the request's own errors. What it returns cancels the request. Every client request goes through
 * here: call$ below, the region accessors' reads and writes, and the Promise facade's register
 * accesses.
 */
export const relay = <T>(
  wire: Wire,
  sink: Sink<T>,
  command: number,
  payload: Buffer,
  onReply: (reply: Buffer, sink: Sink<T>) => void,
  options?: CallOptions,
): Unsubscribable => wire.endpoint.issue(command, payload, new Relay(wire, sink, onReply), options);

/**
 * Sends a request and emits its reply payload decoded by `decode`; fds that came with the reply
 * are closed (only VERSION and GET_REGION_INFO replies carry fds, and they do not use this).
 * A decode failure (MalformedMessageError) fails this request only.
 */
export const call$ = <T>(
  wire: Wire,
  command: number,
  payload: Buffer,
  decode: (reply: Buffer) => T,
  options?: CallOptions,
): Observable<T> => new Observable<T>((subscriber) => relay(wire, subscriber, command, payload, (p, sink) => sink.next(decode(p)), options));
