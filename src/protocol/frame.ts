// The global Buffer of an ES module is a getter on globalThis, paid at every use: these run per message.
import { Buffer } from 'node:buffer';
import { HeaderFlags, MessageType } from './constants.js';
import type { Header } from './header.js';

/** Bytes from one read of the socket, with the fds that came with them (owned by the receiver). */
export interface Chunk {
  readonly bytes: Buffer;
  readonly fds: readonly number[];
}

/** One whole message as received: header, payload (bytes after the header) and its fds. */
export interface Frame {
  readonly header: Header;
  readonly payload: Buffer;
  /** Received fds; the consumer of the frame owns them (keep or close). */
  readonly fds: readonly number[];
  /**
   * Present when the payload lives in a buffer kept for reuse (large messages): a consumer done
   * with the payload, and with every view of it, may call it so that a later message reuses the
   * buffer. Idempotent. A frame not released is simply collected.
   */
  readonly release?: () => void;
}

/** What a sender gives the connection: everything of the header but its size, which is computed. */
export interface OutgoingMessage {
  readonly id: number;
  readonly command: number;
  readonly flags: number;
  readonly error?: number;
  /** Payload pieces, sent in order after the header. */
  readonly payload?: Buffer | readonly Buffer[];
  /** fds to attach (not consumed: the caller still owns them after send). */
  readonly fds?: readonly number[];
}

/** Total payload length of an outgoing message. */
export const payloadLength = (payload: OutgoingMessage['payload']): number =>
  payload === undefined ? 0 : Buffer.isBuffer(payload) ? payload.length : payload.reduce((n, b) => n + b.length, 0);

// Plain bit tests, not pattern matching: these run on every frame of the socket's hot path.
/** Whether a frame is a reply (type bits 1). */
export const isReplyFrame = (f: Frame): boolean => (f.header.flags & HeaderFlags.TYPE_MASK) === MessageType.REPLY;
/** Whether a frame is a command (type bits 0). */
export const isCommandFrame = (f: Frame): boolean => (f.header.flags & HeaderFlags.TYPE_MASK) === MessageType.COMMAND;
