// The global Buffer of an ES module is a getter on globalThis, paid at every use: these run per message.
import { Buffer } from 'node:buffer';
import { Observable, type OperatorFunction } from 'rxjs';
import { HEADER_SIZE, commandName } from '../protocol/constants.js';
import { ProtocolError } from '../protocol/errors.js';
import { decodeHeader, type Header } from '../protocol/header.js';
import type { Chunk, Frame } from '../protocol/frame.js';
import type { FramePool } from './frame-pool.js';

/** Options of decodeFrames. */
export interface DecodeFramesOptions {
  /** Largest msg_size accepted (header included); a larger one is corrupt framing. */
  readonly maxFrameSize: number;
  /** Closes an fd this operator owns and cannot hand on (on error or unsubscribe). */
  readonly closeFd: (fd: number) => void;
  /** How the rest of a large message can be read straight into its own buffer (see DirectRead). */
  readonly direct?: DirectRead;
}

/**
 * A socket that can read the rest of a message into the message's own buffer (the channel's
 * readInto): the framer then hands over a buffer of the message's size holding what came so far,
 * and gets `push(rest, fds, true)` once the socket has filled it. A 1 MiB message then costs one
 * copy of its first read instead of a copy of every read and another to join them.
 */
export interface DirectRead {
  /** Messages with at least this many bytes still to come go direct. */
  readonly threshold: number;
  readInto(target: Buffer, offset: number): void;
  /** Where their buffers come from; without it each is allocated (and frames have no `release`). */
  readonly pool?: FramePool;
}

/** The framing state of one byte stream: feed it reads, it calls `emit` for each whole frame. */
export interface Framer {
  /**
   * Takes one read (bytes and fds). `filled`: the read completed the buffer handed to
   * DirectRead.readInto, whose bytes precede `bytes`. Throws ProtocolError on corrupt framing,
   * after closing every fd it held.
   */
  push(bytes: Buffer, fds: readonly number[], filled?: boolean): void;
  /** Bytes of an incomplete message held. */
  readonly buffered: number;
  /** Closes the fds held for an incomplete message and drops its bytes. */
  release(): void;
}

/**
 * Creates the framing state behind decodeFrames, for the socket's hot path.
 *
 * fds belong to the last message that has started in the bytes received so far: on a stream
 * socket the kernel ends the read that carries fds right after the segment that brought them,
 * and every peer writes a message with one sendmsg.
 */
// Shared by every frame without a payload (most replies): nothing to view, nothing to allocate.
const NO_PAYLOAD = Buffer.alloc(0);
// Shared by every frame that brought no fds (nearly all): frozen, as no one may add to it.
const NO_FDS: readonly number[] = Object.freeze([]);

/** The payload of the message of `size` bytes at `at` of `buf`: a view, or NO_PAYLOAD when empty. */
const payloadOf = (buf: Buffer, at: number, size: number): Buffer =>
  size === HEADER_SIZE ? NO_PAYLOAD : buf.subarray(at + HEADER_SIZE, at + size);

export const framer = (options: DecodeFramesOptions, emit: (frame: Frame) => void): Framer => {
  let parts: Buffer[] = [];
  let partsLength = 0;
  // fds of the incomplete message at the start of `parts`
  let carryFds: number[] = [];
  let needed = HEADER_SIZE;
  // The buffer of the incomplete message being read directly (DirectRead), if any, and how to give it back.
  let target: Buffer | undefined;
  let giveBack: (() => void) | undefined;

  const release = () => {
    for (const fd of carryFds) options.closeFd(fd);
    carryFds = [];
    parts = [];
    partsLength = 0;
    needed = HEADER_SIZE;
    target = undefined;
    giveBack?.();
    giveBack = undefined;
  };

  const checked = (buf: Buffer, at: number): Header => {
    const header = decodeHeader(buf, at);
    if (header.size > options.maxFrameSize) {
      throw new ProtocolError(`msg_size ${header.size} exceeds the limit of ${options.maxFrameSize}`, {
        command: commandName(header.command),
        field: 'msg_size',
      });
    }
    return header;
  };

  // Emits every whole frame of `buf` (which starts at a message boundary); returns the rest.
  const drain = (buf: Buffer, fds: readonly number[]): Buffer => {
    const frames: Frame[] = [];
    let at = 0;
    while (buf.length - at >= HEADER_SIZE) {
      const header = checked(buf, at);
      if (buf.length - at < header.size) break;
      const own = frames.length === 0 && carryFds.length > 0 ? carryFds : NO_FDS;
      frames.push({ header, payload: payloadOf(buf, at, header.size), fds: own });
      at += header.size;
    }
    if (frames.length > 0) carryFds = [];
    const rest = buf.subarray(at);
    if (rest.length > 0) carryFds.push(...fds);
    else if (fds.length > 0) {
      const last = frames[frames.length - 1]!;
      frames[frames.length - 1] = { ...last, fds: [...last.fds, ...fds] };
    }
    for (const frame of frames) emit(frame);
    return rest;
  };

  // Hands the incomplete message at the start of `parts` to the socket to finish, when it is large.
  const maybeDirect = () => {
    const direct = options.direct;
    if (!direct || partsLength < HEADER_SIZE || needed - partsLength < direct.threshold) return;
    let buf: Buffer;
    if (direct.pool) ({ buffer: buf, release: giveBack } = direct.pool.take(needed));
    else buf = Buffer.allocUnsafe(needed);
    let at = 0;
    for (const p of parts) at += p.copy(buf, at);
    parts = [];
    target = buf;
    direct.readInto(buf, at);
  };

  // The direct buffer is full: it is the next frame; its fds are the ones carried, and those of
  // this read too when nothing follows it (fds belong to the last message started).
  const complete = (bytes: Buffer, fds: readonly number[]) => {
    const frame = target!;
    const release = giveBack;
    const own = bytes.length === 0 ? [...carryFds, ...fds] : carryFds;
    target = undefined;
    giveBack = undefined;
    carryFds = [];
    partsLength = 0;
    needed = HEADER_SIZE;
    const whole: Frame = { header: decodeHeader(frame, 0), payload: frame.subarray(HEADER_SIZE), fds: own };
    emit(release ? { ...whole, release } : whole);
  };

  const pushBytes = (bytes: Buffer, fds: readonly number[]) => {
    // The request/reply case: nothing buffered and the read is exactly one message.
    if (partsLength === 0 && bytes.length >= HEADER_SIZE) {
      const header = checked(bytes, 0);
      if (header.size === bytes.length) return emit({ header, payload: payloadOf(bytes, 0, header.size), fds });
    }
    parts.push(bytes);
    partsLength += bytes.length;
    if (partsLength >= HEADER_SIZE && needed === HEADER_SIZE) {
      needed = checked(parts.length === 1 ? parts[0]! : Buffer.concat(parts, HEADER_SIZE), 0).size;
    }
    if (partsLength < needed) {
      carryFds.push(...fds);
      return maybeDirect();
    }
    const rest = drain(parts.length === 1 ? parts[0]! : Buffer.concat(parts, partsLength), fds);
    parts = rest.length > 0 ? [rest] : [];
    partsLength = rest.length;
    needed = rest.length >= HEADER_SIZE ? checked(rest, 0).size : HEADER_SIZE;
    maybeDirect();
  };

  const push = (bytes: Buffer, fds: readonly number[], filled = false) => {
    try {
      if (target) {
        // While the socket fills the buffer, reads only bring the fds that came with them.
        if (!filled) return void carryFds.push(...fds);
        complete(bytes, fds);
        if (bytes.length === 0) return;
      }
      pushBytes(bytes, fds);
    } catch (err) {
      for (const fd of fds) if (!carryFds.includes(fd)) options.closeFd(fd);
      release();
      throw err;
    }
  };

  return {
    push,
    release,
    get buffered() {
      return partsLength;
    },
  };
};

/**
 * Turns socket chunks (bytes plus fds) into whole frames.
 *
 * Handles partial reads and many messages per read, and gives each frame its own fds (see framer).
 * A bad header or a frame above `maxFrameSize` errors the stream with a ProtocolError: framing
 * cannot be trusted after it. Every fd still held then is closed.
 *
 * ```
 * chunks: --[16B hdr+8B]--[8B rest, hdr2]--[fd]-->
 * frames: --------------------F1------------F2--->
 * ```
 */
export const decodeFrames = (options: DecodeFramesOptions): OperatorFunction<Chunk, Frame> => (source) =>
  new Observable<Frame>((subscriber) => {
    const state = framer(options, (frame) => subscriber.next(frame));
    const subscription = source.subscribe({
      next: ({ bytes, fds }) => {
        try {
          state.push(bytes, fds);
        } catch (err) {
          subscriber.error(err);
        }
      },
      error: (err) => {
        state.release();
        subscriber.error(err);
      },
      complete: () => {
        if (state.buffered > 0) {
          const left = state.buffered;
          state.release();
          subscriber.error(new ProtocolError(`stream ended inside a message (${left} bytes held)`, { field: 'msg_size' }));
        } else subscriber.complete();
      },
    });
    return () => {
      subscription.unsubscribe();
      state.release();
    };
  });
