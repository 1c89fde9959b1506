import { map, type Observable } from 'rxjs';
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
  frame.fds.forEach(wire.closeFd);
  return frame.payload;
};

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
): Observable<T> => wire.endpoint.request(command, payload, options).pipe(map((frame) => decode(dropFds(wire, frame))));
