/**
 * Contract of the native layer (src/native). Everything the protocol needs from the OS that Node
 * does not offer: SCM_RIGHTS on UNIX stream sockets, eventfd, memfd, mmap. Every fd is CLOEXEC.
 * Errors are thrown as NativeError (syscall + errno) from src/protocol/errors.ts.
 */

/** Callbacks of a channel; called from the event loop (never re-entrantly from send()). */
export interface ChannelHandlers {
  /**
   * Bytes received by one recvmsg, with the fds that came in the same recvmsg (now owned by the
   * receiver). `filled`: this recvmsg completed the target of `Channel.readInto`, whose bytes come
   * before `bytes` in the stream. While a target fills, a read that brings fds but completes
   * nothing is reported with empty `bytes`; one that brings neither is not reported.
   */
  data(bytes: Buffer, fds: readonly number[], filled: boolean): void;
  /** The peer closed its end (EOF). Called once; no more data after it. */
  end(): void;
  /** A socket error, or MSG_CTRUNC (fds were lost: the stream is broken). Called once; no more data after it. */
  error(err: Error): void;
}

/** A connected AF_UNIX SOCK_STREAM socket, event-driven (uv_poll), with fd passing. */
export interface Channel {
  /** The socket fd (owned by the channel). -1 once closed. */
  readonly fd: number;
  /** Starts delivering received bytes to `handlers`. Called once. */
  start(handlers: ChannelHandlers): void;
  /**
   * Sends one message: the chunks in order, with `fds` attached to its first byte (SCM_RIGHTS).
   * Never blocks: what the socket does not take now is queued and written when it is writable
   * (the fds travel with the first byte actually sent). The caller keeps ownership of `fds`:
   * they are duplicated by the kernel when sent; the caller may close them after send returns
   * (the native layer dups any fds it has to queue). Throws ClosedError after close.
   * A send error (EPIPE, ECONNRESET) is reported through handlers.error, not thrown.
   */
  send(chunks: readonly Buffer[], fds?: readonly number[]): void;
  /**
   * Sends the next bytes of the stream straight into `target`, from `offset` to its end, instead
   * of delivering them to `data()` (for the rest of a large message: no copy through the read
   * buffer). The target is held until full; `data()` reports `filled` with the read that fills it.
   * One target at a time; call it from `data()` or before the next read.
   */
  readInto(target: Buffer, offset: number): void;
  /** Bytes queued and not yet written. */
  readonly queuedBytes: number;
  /** Stops polling and closes the socket and any queued fds. Idempotent. */
  close(): void;
}

/** A listening AF_UNIX socket. */
export interface Listener {
  readonly fd: number;
  /** Starts accepting; each accepted connection is handed over as a new Channel (not started). */
  start(onConnection: (channel: Channel) => void, onError: (err: Error) => void): void;
  /** Stops accepting and closes the listening socket (does not unlink the path). Idempotent. */
  close(): void;
}

/** A readable-fd watcher (eventfd and the like). */
export interface FdWatcher {
  /** Stops watching (does not close the fd). Idempotent. */
  stop(): void;
}

/** Memory protection for mmap. */
export type Prot = 'r' | 'rw';

/** Options of a channel. */
export interface ChannelOptions {
  /**
   * Most fds one recvmsg can take (sizes the control buffer); more gives MSG_CTRUNC, reported as an
   * error. Default 253 (SCM_MAX_FD, the most Linux sends in one message).
   */
  maxRecvFds?: number;
  /**
   * SO_SNDBUF to ask for, in bytes (best effort: the kernel caps it at net.core.wmem_max);
   * 0 keeps the system default. Default DEFAULT_SEND_BUFFER_SIZE (2 MiB).
   */
  sendBufferSize?: number;
}

/** The native module's API. */
export interface Native {
  /**
   * Connects to a UNIX socket path (blocking connect; AF_UNIX connect does not wait).
   * Throws NativeError (ENOENT, ECONNREFUSED, EACCES...).
   */
  connect(path: string, options?: ChannelOptions): Channel;
  /** Wraps an already-connected socket fd (takes ownership; sets O_NONBLOCK and CLOEXEC). */
  channelFromFd(fd: number, options?: ChannelOptions): Channel;
  /**
   * Binds and listens on a UNIX socket path with the given file mode (e.g. 0o600).
   * Throws EADDRINUSE if the path exists.
   */
  listen(path: string, mode: number, backlog?: number): Listener;
  /** Wraps an already-listening socket fd (takes ownership). */
  listenerFromFd(fd: number): Listener;
  /** socketpair(AF_UNIX, SOCK_STREAM), both CLOEXEC. */
  socketpair(): [number, number];
  /** Creates an eventfd (EFD_CLOEXEC | EFD_NONBLOCK). */
  eventfd(initval?: number): number;
  /** Adds `value` to an eventfd's counter (write of a u64). */
  eventfdWrite(fd: number, value?: bigint): void;
  /** Reads and resets an eventfd's counter; 0n when it was 0 (EAGAIN). */
  eventfdRead(fd: number): bigint;
  /** Calls `onReadable` each time `fd` becomes readable (uv_poll); the callback must drain it. */
  watchReadable(fd: number, onReadable: () => void): FdWatcher;
  /**
   * memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING) + ftruncate(size), then sealed against
   * shrinking, growing and further seals (a peer we hand it to cannot cut it under our mapping);
   * `sealed: false` leaves it open to all of that (tests use it to play a hostile peer).
   */
  memfd(name: string, size: number, options?: { readonly sealed?: boolean }): number;
  /** Size of the file behind an fd (fstat st_size). */
  fileSize(fd: number): number;
  /**
   * Maps `length` bytes of `fd` from byte `offset` (any alignment: the native side maps from the
   * page boundary and offsets the pointer) with MAP_SHARED. The ArrayBuffer views the mapping.
   */
  mmap(fd: number, offset: number | bigint, length: number, prot: Prot): ArrayBuffer;
  /** Unmaps now: detaches the ArrayBuffer first (every view drops to length 0). Idempotent. */
  munmap(buffer: ArrayBuffer): void;
  /**
   * How many accesses past the end of a mapped file (the peer shrank it) this thread has survived.
   * Such an access reads zeros or writes nowhere instead of killing the process with SIGBUS; compare
   * the count before and after an access through a mapping to know that it faulted.
   */
  mappingFaults(): number;
  /** Duplicates an fd (F_DUPFD_CLOEXEC). */
  dup(fd: number): number;
  /** Closes an fd; EBADF is ignored. */
  close(fd: number): void;
  /** Number of open fds of this process (entries of /proc/self/fd), for leak checks. */
  openFdCount(): number;
}
