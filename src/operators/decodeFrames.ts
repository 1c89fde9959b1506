import { Observable, type OperatorFunction } from 'rxjs';
import { HEADER_SIZE, commandName } from '../protocol/constants.js';
import { ProtocolError } from '../protocol/errors.js';
import { decodeHeader } from '../protocol/header.js';
import type { Chunk, Frame } from '../streams/frame.js';

/** Options of decodeFrames. */
export interface DecodeFramesOptions {
  /** Largest msg_size accepted (header included); a larger one is corrupt framing. */
  readonly maxFrameSize: number;
  /** Closes an fd this operator owns and cannot hand on (on error or unsubscribe). */
  readonly closeFd: (fd: number) => void;
}

/**
 * Turns socket chunks (bytes plus fds) into whole frames.
 *
 * Handles partial reads and many messages per read. fds belong to the last message that has started
 * in the bytes received so far (on a stream socket the kernel ends the read that carries fds right
 * after the segment that brought them, and every peer writes a message with one sendmsg).
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
    let parts: Buffer[] = [];
    let partsLength = 0;
    // fds of the incomplete message at the start of `parts`
    let carryFds: number[] = [];
    let needed = HEADER_SIZE;

    const releaseAll = () => {
      for (const fd of carryFds) options.closeFd(fd);
      carryFds = [];
      parts = [];
      partsLength = 0;
    };

    const frameSize = (buf: Buffer, at: number): number => {
      const header = decodeHeader(buf, at);
      if (header.size > options.maxFrameSize) {
        throw new ProtocolError(`msg_size ${header.size} exceeds the limit of ${options.maxFrameSize}`, {
          command: commandName(header.command),
          field: 'msg_size',
        });
      }
      return header.size;
    };

    // Splits `buf` into whole frames; returns them and the bytes of an incomplete trailing message.
    const split = (buf: Buffer): { frames: Frame[]; rest: Buffer } => {
      const frames: Frame[] = [];
      let at = 0;
      while (buf.length - at >= HEADER_SIZE) {
        const size = frameSize(buf, at);
        if (buf.length - at < size) break;
        frames.push({ header: decodeHeader(buf, at), payload: buf.subarray(at + HEADER_SIZE, at + size), fds: [] });
        at += size;
      }
      return { frames, rest: buf.subarray(at) };
    };

    const onChunk = ({ bytes, fds }: Chunk) => {
      parts.push(bytes);
      partsLength += bytes.length;
      if (partsLength < needed) {
        if (parts.length === 1 && partsLength >= HEADER_SIZE) needed = frameSize(bytes, 0);
        else if (partsLength >= HEADER_SIZE) needed = frameSize(Buffer.concat(parts, HEADER_SIZE), 0);
        if (partsLength < needed) {
          carryFds.push(...fds);
          return;
        }
      }
      const whole = parts.length === 1 ? parts[0]! : Buffer.concat(parts, partsLength);
      const { frames, rest } = split(whole);
      const owned = frames.map((f) => f.fds as number[]);
      if (frames.length > 0) {
        owned[0]!.push(...carryFds);
        carryFds = [];
      }
      if (rest.length > 0) carryFds.push(...fds);
      else owned[owned.length - 1]!.push(...fds);
      parts = rest.length > 0 ? [rest] : [];
      partsLength = rest.length;
      needed = rest.length >= HEADER_SIZE ? frameSize(rest, 0) : HEADER_SIZE;
      for (const frame of frames) subscriber.next(frame);
    };

    const subscription = source.subscribe({
      next: (chunk) => {
        try {
          onChunk(chunk);
        } catch (err) {
          for (const fd of chunk.fds) if (!carryFds.includes(fd)) options.closeFd(fd);
          releaseAll();
          subscriber.error(err);
        }
      },
      error: (err) => {
        releaseAll();
        subscriber.error(err);
      },
      complete: () => {
        if (partsLength > 0) {
          const left = partsLength;
          releaseAll();
          subscriber.error(new ProtocolError(`stream ended inside a message (${left} bytes of ${needed})`, { field: 'msg_size' }));
        } else subscriber.complete();
      },
    });
    return () => {
      subscription.unsubscribe();
      releaseAll();
    };
  });
