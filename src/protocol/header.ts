import { HEADER_SIZE, HeaderFlags, MessageType, commandName } from './constants.js';
import { ProtocolError } from './errors.js';
import { u16At, u32At } from './reader.js';

/** The 16-byte header that starts every message. */
export interface Header {
  /** Message ID chosen by the sender of a command, echoed in its reply. */
  readonly id: number;
  /** Command number. */
  readonly command: number;
  /** Total message size including the header. */
  readonly size: number;
  /** Flags: type bits, NO_REPLY, ERROR. */
  readonly flags: number;
  /** errno of an error reply; 0 otherwise. */
  readonly error: number;
}

/** Whether `x` is an integer in [0, max]. */
const fits = (x: number, max: number): boolean => x >= 0 && x <= max && Math.floor(x) === x;

/**
 * Writes a header's fields into `buf` at `offset` (little-endian, as every supported host is).
 * For the send path, which has the fields but no Header object to spare: every message sent
 * passes here, so fields in range are stored byte by byte (a quarter of the cost of five checked
 * Buffer writes); anything else goes through those writes, which throw their RangeError.
 */
export const writeHeaderFields = (buf: Buffer, offset: number, id: number, command: number, size: number, flags: number, error: number): void => {
  const f = flags >>> 0;
  const e = error >>> 0;
  if (!fits(command, 0xffff) || !fits(size, 0xffffffff) || offset < 0 || offset + HEADER_SIZE > buf.length) {
    buf.writeUInt16LE(id & 0xffff, offset);
    buf.writeUInt16LE(command, offset + 2);
    buf.writeUInt32LE(size, offset + 4);
    buf.writeUInt32LE(f, offset + 8);
    buf.writeUInt32LE(e, offset + 12);
    return;
  }
  buf[offset] = id;
  buf[offset + 1] = id >>> 8;
  buf[offset + 2] = command;
  buf[offset + 3] = command >>> 8;
  buf[offset + 4] = size;
  buf[offset + 5] = size >>> 8;
  buf[offset + 6] = size >>> 16;
  buf[offset + 7] = size >>> 24;
  buf[offset + 8] = f;
  buf[offset + 9] = f >>> 8;
  buf[offset + 10] = f >>> 16;
  buf[offset + 11] = f >>> 24;
  buf[offset + 12] = e;
  buf[offset + 13] = e >>> 8;
  buf[offset + 14] = e >>> 16;
  buf[offset + 15] = e >>> 24;
};

/** Writes a header into `buf` at `offset`. */
export const writeHeader = (h: Header, buf: Buffer, offset = 0): void =>
  writeHeaderFields(buf, offset, h.id, h.command, h.size, h.flags, h.error);

/** Encodes a header as a fresh 16-byte Buffer. */
export const encodeHeader = (h: Header): Buffer => {
  const buf = Buffer.allocUnsafe(HEADER_SIZE);
  writeHeader(h, buf);
  return buf;
};

/**
 * Decodes and validates a header: `size >= 16` and type bits COMMAND or REPLY.
 * Throws ProtocolError (fatal for the stream: framing cannot be trusted after it).
 */
export const decodeHeader = (buf: Buffer, offset = 0): Header => {
  if (buf.length - offset < HEADER_SIZE) {
    throw new ProtocolError(`short header: ${buf.length - offset} of ${HEADER_SIZE} bytes`, { field: 'header' });
  }
  if (offset < 0) throw new RangeError(`header offset ${offset}`);
  const h: Header = {
    id: u16At(buf, offset),
    command: u16At(buf, offset + 2),
    size: u32At(buf, offset + 4),
    flags: u32At(buf, offset + 8),
    error: u32At(buf, offset + 12),
  };
  if (h.size < HEADER_SIZE) {
    throw new ProtocolError(`msg_size ${h.size} < ${HEADER_SIZE}`, { command: commandName(h.command), field: 'msg_size' });
  }
  const type = h.flags & HeaderFlags.TYPE_MASK;
  if (type !== MessageType.COMMAND && type !== MessageType.REPLY) {
    throw new ProtocolError(`unknown message type ${type}`, { command: commandName(h.command), field: 'flags' });
  }
  return h;
};

/** Whether a header is a reply. */
export const isReply = (h: Header): boolean => (h.flags & HeaderFlags.TYPE_MASK) === MessageType.REPLY;
/** Whether a command asks for no reply. */
export const isNoReply = (h: Header): boolean => (h.flags & HeaderFlags.NO_REPLY) !== 0;
/** Whether a reply reports an error. */
export const isErrorReply = (h: Header): boolean => (h.flags & HeaderFlags.ERROR) !== 0;
