/**
 * A listening UNIX socket as an Observable of connected channels: the server side's edge.
 * A stale socket file (nobody answers on it) is replaced; a live one, or any other file, is not.
 */
import { lstatSync, unlinkSync } from 'node:fs';
import { Observable } from 'rxjs';
import type { Channel, Listener, Native } from '../native/types.js';

/** Another server answers on the socket path, or the path is not a socket. */
export class SocketInUseError extends Error {
  readonly code = 'ERR_VFIO_USER_SOCKET_IN_USE';
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'SocketInUseError';
    this.path = path;
  }
}

/** Where to listen: a path to create, or an already-listening socket fd (taken over). */
export type ListenTarget = { readonly socketPath: string } | { readonly fd: number };

const EADDRINUSE = 98;
const ECONNREFUSED = 111;

const errnoOf = (err: unknown): number | undefined => (err as { errno?: number }).errno;

/** Whether a socket path is stale: a socket file on which nobody accepts connections. */
const isStale = (native: Native, path: string): boolean => {
  if (!lstatSync(path, { throwIfNoEntry: false })?.isSocket()) throw new SocketInUseError(path, 'exists and is not a socket');
  try {
    native.connect(path).close();
  } catch (err) {
    if (errnoOf(err) === ECONNREFUSED) return true;
    throw err;
  }
  return false;
};

/** Binds `path` with `mode`, replacing a stale socket file. */
const bind = (native: Native, path: string, mode: number): Listener => {
  try {
    return native.listen(path, mode);
  } catch (err) {
    if (errnoOf(err) !== EADDRINUSE) throw err;
    if (!isStale(native, path)) throw new SocketInUseError(path, 'another server is answering on it');
    unlinkSync(path);
    return native.listen(path, mode);
  }
};

/** Inode of the socket we created, so that teardown never removes a file someone else put there. */
const inode = (path: string): bigint | undefined => lstatSync(path, { bigint: true, throwIfNoEntry: false })?.ino;

/**
 * Listens and emits each accepted connection (not started; the subscriber owns it). Errors with
 * SocketInUseError when the path is taken, or with the listener's error. Unsubscribing closes the
 * listener and removes the socket file it created.
 */
export const listen$ = (native: Native, target: ListenTarget, mode = 0o600): Observable<Channel> =>
  new Observable<Channel>((subscriber) => {
    const path = 'socketPath' in target ? target.socketPath : undefined;
    const listener = 'socketPath' in target ? bind(native, target.socketPath, mode) : native.listenerFromFd(target.fd);
    const created = path === undefined ? undefined : inode(path);
    listener.start(
      (channel) => subscriber.next(channel),
      (err) => subscriber.error(err),
    );
    return () => {
      listener.close();
      if (path !== undefined && created !== undefined && inode(path) === created) unlinkSync(path);
    };
  });
