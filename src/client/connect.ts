import { Observable } from 'rxjs';
import type { Channel, Native } from '../native/types.js';
import { errnoName } from '../protocol/errno.js';
import { ConnectError, NativeError } from '../protocol/errors.js';

/** Where to find the server: a socket path or an already-connected fd. */
export interface PeerAddress {
  readonly socketPath?: string;
  readonly fd?: number;
}

/** A human name of the peer for error messages. */
export const describePeer = (a: PeerAddress): string =>
  a.socketPath !== undefined ? a.socketPath : `fd ${a.fd ?? '?'}`;

const asConnectError = (err: unknown, a: PeerAddress): ConnectError => {
  const errno = err instanceof NativeError ? errnoName(err.errno) : undefined;
  const why = err instanceof NativeError ? `${errno}` : (err as Error).message;
  const info = { ...(a.socketPath !== undefined ? { path: a.socketPath } : {}), ...(errno ? { errno } : {}) };
  return new ConnectError(`cannot connect to ${describePeer(a)}: ${why}`, info, { cause: err });
};

/**
 * Opens the socket as a channel on subscription: connects to the path (ENOENT, ECONNREFUSED,
 * EACCES come back as a ConnectError naming the errno) or wraps the given fd.
 */
export const openChannel$ = (address: PeerAddress, native: Native): Observable<Channel> =>
  new Observable<Channel>((subscriber) => {
    if ((address.socketPath === undefined) === (address.fd === undefined)) {
      subscriber.error(new TypeError('give exactly one of socketPath and fd'));
      return;
    }
    let channel: Channel;
    try {
      channel = address.socketPath !== undefined ? native.connect(address.socketPath) : native.channelFromFd(address.fd!);
    } catch (err) {
      subscriber.error(asConnectError(err, address));
      return;
    }
    subscriber.next(channel);
    subscriber.complete();
  });
