import { Observable, type Subscriber, type Unsubscribable } from 'rxjs';
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
 * Hands a request's outcome to the subscriber of the accessor that sent it. A class: its methods
 * are made once, where an observer literal would make closures per request; and it is the
 * request's only waiter (Endpoint.issue), so no Observable or Subscriber is made for the request.
 */
class Relay<T> implements ReplyWaiter {
  constructor(
    private readonly wire: Wire,
    private readonly subscriber: Subscriber<T>,
    private readonly onReply: (reply: Buffer) => void,
  ) {}

  settle(frame: Frame): void {
    try {
      this.onReply(dropFds(this.wire, frame));
    } catch (err) {
      this.subscriber.error(err);
      return;
    }
    this.subscriber.complete();
  }

  fail(err: unknown): void {
    this.subscriber.error(err);
  }
}

/**
 * Sends a request on behalf of `subscriber`: `onReply` gets the reply payload (fds closed) and
 * emits what it wants; whatever it throws fails the subscriber, and so do the request's own errors.
 * What it returns cancels the request. No operator chain and no Observable of its own: this is
 * every register access's path.
 */
export const relay = <T>(
  wire: Wire,
  subscriber: Subscriber<T>,
  command: number,
  payload: Buffer,
  onReply: (reply: Buffer) => void,
  options?: CallOptions,
): Unsubscribable => wire.endpoint.issue(command, payload, new Relay(wire, subscriber, onReply), options);

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
): Observable<T> => new Observable<T>((subscriber) => relay(wire, subscriber, command, payload, (p) => subscriber.next(decode(p)), options));
