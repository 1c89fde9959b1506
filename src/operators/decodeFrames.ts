import { Observable, type OperatorFunction } from 'rxjs';
import { HEADER_SIZE, commandName } from '../protocol/constants.js';
import { ProtocolError } from '../protocol/errors.js';
import { decodeHeader, type Header } from '../protocol/header.js';
import type { Chunk, Frame } from '../streams/frame.js';

/** Options of decodeFrames. */
export interface DecodeFramesOptions {
  /** Largest msg_size accepted (header included); a larger one is corrupt framing. */
  readonly maxFrameSize: number;
  /** Closes an fd this operator owns and cannot hand on (on error or unsubscribe). */
  readonly closeFd: (fd: number) => void;
}

/** The framing state of one byte stream: feed it reads, it calls `emit` for each whole frame. */
export interface Framer {
  /** Takes one read (bytes and fds). Throws ProtocolError on corrupt framing, after closing every fd it held. */
  push(bytes: Buffer, fds: readonly number[]): void;
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
export const framer = (options: DecodeFramesOptions, emit: (frame: Frame) => void): Framer => {
  let parts: Buffer[] = [];
  let partsLength = 0;
  // fds of the incomplete message at the start of `parts`
  let carryFds: number[] = [];
  let needed = HEADER_SIZE;

  const release = () => {
    for (const fd of carryFds) options.closeFd(fd);
    carryFds = [];
    parts = [];
    partsLength = 0;
    needed = HEADER_SIZE;
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
      const own = frames.length === 0 ? carryFds : [];
      frames.push({ header, payload: buf.subarray(at + HEADER_SIZE, at + header.size), fds: own });
      at += header.size;
    }
    if (frames.length > 0) carryFds = [];
    const rest = buf.subarray(at);
    if (rest.length > 0) carryFds.push(...fds);
    else (frames[frames.length - 1]!.fds as number[]).push(...fds);
    for (const frame of frames) emit(frame);
    return rest;
  };

  const push = (bytes: Buffer, fds: readonly number[]) => {
    try {
      // The request/reply case: nothing buffered and the read is exactly one message.
      if (partsLength === 0 && bytes.length >= HEADER_SIZE) {
        const header = checked(bytes, 0);
        if (header.size === bytes.length) return emit({ header, payload: bytes.subarray(HEADER_SIZE), fds });
      }
      parts.push(bytes);
      partsLength += bytes.length;
      if (partsLength >= HEADER_SIZE && needed === HEADER_SIZE) {
        needed = checked(parts.length === 1 ? parts[0]! : Buffer.concat(parts, HEADER_SIZE), 0).size;
      }
      if (partsLength < needed) {
        carryFds.push(...fds);
        return;
      }
      const rest = drain(parts.length === 1 ? parts[0]! : Buffer.concat(parts, partsLength), fds);
      parts = rest.length > 0 ? [rest] : [];
      partsLength = rest.length;
      needed = rest.length >= HEADER_SIZE ? checked(rest, 0).size : HEADER_SIZE;
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
