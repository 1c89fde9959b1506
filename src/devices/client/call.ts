import { Observable, type Observer, type Subscriber, type Subscription } from 'rxjs';
import type { RequestOptions } from '../../operators/correlate.js';
import type { Frame } from '../../streams/frame.js';
import type { Endpoint } from '../endpoint.js';

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
 * Hands a request's reply and end to the subscriber of the accessor that sent it. A class: its
 * methods are made once, where an observer literal would make three closures per request.
 */
class Relay<T> implements Observer<Frame> {
  constructor(
    private readonly wire: Wire,
    private readonly subscriber: Subscriber<T>,
    private readonly onReply: (reply: Buffer) => void,
  ) {}

  next(frame: Frame): void {
    try {
      this.onReply(dropFds(this.wire, frame));
    } catch (err) {
      this.subscriber.error(err);
    }
  }

  error(err: unknown): void {
    this.subscriber.error(err);
  }

  complete(): void {
    this.subscriber.complete();
  }
}

/**
 * Sends a request on behalf of `subscriber`: `onReply` gets the reply payload (fds closed) and
 * emits what it wants; whatever it throws fails the subscriber, and so do the request's own errors.
 * The returned subscription cancels the request. One subscription per request, no operator chain:
 * this is every register access's path.
 */
export const relay = <T>(
  wire: Wire,
  subscriber: Subscriber<T>,
  command: number,
  payload: Buffer,
  onReply: (reply: Buffer) => void,
  options?: RequestOptions,
): Subscription => wire.endpoint.request(command, payload, options).subscribe(new Relay(wire, subscriber, onReply));

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
  options?: RequestOptions,
): Observable<T> => new Observable<T>((subscriber) => relay(wire, subscriber, command, payload, (p) => subscriber.next(decode(p)), options));
