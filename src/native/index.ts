/**
 * The native layer: UNIX stream sockets with fd passing, eventfd, memfd and mmap, as the typed
 * `Native` contract of types.ts. Every addon error surfaces as a NativeError (syscall + errno).
 */
import { constants } from 'node:buffer';
import { addon, call } from './addon.js';
import { openChannel } from './channel.js';
import { openListener } from './listener.js';
import type { FdWatcher, Listener, Native } from './types.js';

export type * from './types.js';
export { DEFAULT_SEND_BUFFER_SIZE, SCM_MAX_FD } from './channel.js';
export { describeFd } from './fd-info.js';

/** Default listen backlog. */
const BACKLOG = 128;

const connect: Native['connect'] = (path, options) => {
  const fd = call(() => addon.connect(path));
  try {
    return openChannel(fd, options);
  } catch (err) {
    addon.close(fd);
    throw err;
  }
};

const listen = (path: string, mode: number, backlog = BACKLOG): Listener => {
  const fd = call(() => addon.listen(path, mode, backlog));
  try {
    return openListener(fd);
  } catch (err) {
    addon.close(fd);
    throw err;
  }
};

/**
 * Only one watcher per fd at a time (libuv allows one poll handle per fd per loop: a second gives
 * EEXIST), and the watcher must be stopped before the fd is closed, or a recycled fd number would
 * receive its events.
 */
const mmap: Native['mmap'] = (fd, offset, length, prot) => {
  if (length > constants.MAX_LENGTH) {
    throw new RangeError(`mmap: length ${length} exceeds Node's largest buffer (${constants.MAX_LENGTH} bytes)`);
  }
  return call(() => addon.mmap(fd, offset, length, prot));
};

const watchReadable = (fd: number, onReadable: () => void): FdWatcher => {
  const watcher = call(() => new addon.Watcher(fd, onReadable));
  return { stop: () => watcher.stop() };
};

/**
 * The native module. Mapping caveats: touching a mapping beyond the end of its file (a peer shrank
 * it) no longer kills the process, but reads zeros and counts a fault (`mappingFaults`), which
 * callers check around each access; writing through an 'r' mapping still raises SIGSEGV. Check
 * `fileSize` against what a peer claims before mapping its fd.
 */
// A view of the addon's per-thread fault count: reading it is a load, not a call.
const faultCounter = new Uint32Array(addon.faultCounter());

export const native: Native = {
  connect,
  channelFromFd: (fd, options) => openChannel(fd, options),
  listen,
  listenerFromFd: (fd) => openListener(fd),
  socketpair: () => call(() => addon.socketpair()),
  eventfd: (initval = 0) => call(() => addon.eventfd(initval)),
  eventfdWrite: (fd, value = 1n) => call(() => addon.eventfdWrite(fd, value)),
  eventfdRead: (fd) => call(() => addon.eventfdRead(fd)),
  watchReadable,
  memfd: (name, size, options) => call(() => addon.memfd(name, size, options?.sealed ?? true)),
  fileSize: (fd) => call(() => addon.fileSize(fd)),
  mmap,
  munmap: (buffer) => call(() => addon.munmap(buffer)),
  mappingFaults: () => faultCounter[0]!,
  dup: (fd) => call(() => addon.dup(fd)),
  close: (fd) => call(() => addon.close(fd)),
  openFdCount: () => call(() => addon.openFdCount()),
};

/** Closes every fd of a list (already-closed ones are ignored); for cleanup paths. */
export const closeAll = (fds: Iterable<number>): void => {
  for (const fd of fds) native.close(fd);
};
