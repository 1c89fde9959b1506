/** The Channel of the contract, over the addon's raw channel. */
import { ClosedError } from '../protocol/errors.js';
import { addon, asNativeError, call, toNativeError, type RawChannel, type RawError } from './addon.js';
import type { Channel, ChannelHandlers, ChannelOptions } from './types.js';

/** SCM_MAX_FD: the most fds Linux passes in one message. */
export const SCM_MAX_FD = 253;

/**
 * Send buffer asked for by default: room for a whole message of the largest size we exchange
 * (1 MiB of data and its header), so that one sendmsg hands it over and the receiver reads it in
 * a few reads instead of the two sides taking turns on the default ~200 KiB. The kernel caps it
 * at net.core.wmem_max (a default of 212992 on many systems: then nothing changes).
 */
export const DEFAULT_SEND_BUFFER_SIZE = 2 << 20;

// The fds of a read that brought none: one frozen list rather than a new array per read.
const NO_FDS: readonly number[] = Object.freeze([]);

/**
 * Where every channel of this thread receives: a read's bytes are copied out at the start of its
 * callback, before any handler runs, so one buffer serves them all. Small reads are copied into
 * Node's shared pool; a Buffer made by the addon per read cost more than that copy.
 */
const READ_BUFFER_SIZE = 64 * 1024;
let readBuffer: Buffer | undefined;
const NO_BYTES = Buffer.alloc(0);

const received = (buffer: Buffer, length: number): Buffer => {
  if (length === 0) return NO_BYTES;
  const bytes = Buffer.allocUnsafe(length);
  buffer.copy(bytes, 0, 0, length);
  return bytes;
};

class NativeChannel implements Channel {
  readonly #raw: RawChannel;
  #handlers: ChannelHandlers | undefined;
  // A send failure before start(): reported once started.
  #early: Error | undefined;
  #closed = false;
  // end() or error() was delivered: nothing follows.
  #done = false;

  constructor(raw: RawChannel) {
    this.#raw = raw;
  }

  get fd(): number {
    return this.#raw.fd;
  }

  get queuedBytes(): number {
    return this.#raw.queuedBytes;
  }

  start(handlers: ChannelHandlers): void {
    if (this.#closed) throw new ClosedError('channel is closed');
    if (this.#handlers) throw new Error('channel already started');
    this.#handlers = handlers;
    const buffer = (readBuffer ??= Buffer.allocUnsafeSlow(READ_BUFFER_SIZE));
    const failure = call(() =>
      this.#raw.start(
        (length, fds, filled) => handlers.data(received(buffer, length), fds ?? NO_FDS, filled),
        () => {
          this.#done = true;
          handlers.end();
        },
        (err) => {
          this.#done = true;
          handlers.error(asNativeError(err));
        },
        buffer,
      ),
    );
    const early = this.#early ?? (failure && asNativeError(failure));
    if (early) this.#failLater(early);
  }

  send(chunks: readonly Buffer[], fds?: readonly number[]): void {
    if (this.#closed) throw new ClosedError('channel is closed');
    // Inline rather than through call(): a closure per message is measurable on this path.
    let failure: RawError | undefined;
    try {
      failure = this.#raw.send(chunks, fds);
    } catch (err) {
      throw toNativeError(err);
    }
    if (failure) this.#failLater(asNativeError(failure));
  }

  readInto(target: Buffer, offset: number): void {
    if (this.#closed) throw new ClosedError('channel is closed');
    call(() => this.#raw.readInto(target, offset));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#raw.close();
  }

  // Send failures surface on a later turn of the loop, never inside the send() that met them.
  #failLater(err: Error): void {
    const handlers = this.#handlers;
    if (!handlers) {
      this.#early ??= err;
      return;
    }
    setImmediate(() => {
      if (this.#closed || this.#done) return;
      this.#done = true;
      handlers.error(err);
    });
  }
}

/** Wraps a connected socket fd as a Channel; on failure the caller still owns the fd. */
export const openChannel = (fd: number, options: ChannelOptions = {}): Channel =>
  new NativeChannel(call(() => new addon.Channel(fd, options.maxRecvFds ?? SCM_MAX_FD, options.sendBufferSize ?? DEFAULT_SEND_BUFFER_SIZE)));
