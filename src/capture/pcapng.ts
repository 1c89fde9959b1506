/**
 * vfio-user messages as pcapng blocks (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-03.html):
 * a Section Header Block, an Interface Description Block per socket of each conversation, and one
 * Enhanced Packet Block per message holding its bytes exactly (header and payload). Pure encoders.
 *
 * - Link type: LINKTYPE_USER0 (147), the range tcpdump.org reserves for private use; the Lua
 *   dissector shipped in `dissector/vfio-user.lua` registers itself for it.
 * - Direction, in the epb_flags option (bits 0-1), seen from the client: 2 outbound = client to
 *   server, 1 inbound = server to client.
 * - The message's fds, in an opt_comment: `fds=memfd:NAME/0x1000,eventfd,socket` (formatFdList).
 * - Interfaces are named `session N main` or `session N twin` (if_name).
 * - Timestamps in microseconds (the default if_tsresol).
 */
import { formatFdList, type FdInfo } from '../protocol/fd-info.js';

/** The link type of vfio-user captures: LINKTYPE_USER0. */
export const LINKTYPE_VFIO_USER = 147;

/** Block types. */
export const BlockType = { SECTION_HEADER: 0x0a0d0d0a, INTERFACE: 1, ENHANCED_PACKET: 6 } as const;

/** The byte-order magic of a section header. */
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/** epb_flags direction values. */
export const EpbDirection = { INBOUND: 1, OUTBOUND: 2 } as const;

/** Option codes used here. */
export const OptionCode = { END: 0, COMMENT: 1, IF_NAME: 2, EPB_FLAGS: 2, SHB_USERAPPL: 4 } as const;

const pad4 = (n: number): number => (n + 3) & ~3;

/** One option: code, length, value padded to 32 bits. */
const option = (code: number, value: Buffer): Buffer => {
  const buf = Buffer.alloc(4 + pad4(value.length));
  buf.writeUInt16LE(code, 0);
  buf.writeUInt16LE(value.length, 2);
  value.copy(buf, 4);
  return buf;
};

const END_OF_OPTIONS = Buffer.alloc(4);

/** A block: type, total length, body, options (ended), total length again. */
const block = (type: number, body: Buffer, options: readonly Buffer[]): Buffer => {
  const opts = options.length > 0 ? [...options, END_OF_OPTIONS] : [];
  const length = 12 + body.length + opts.reduce((n, o) => n + o.length, 0);
  const head = Buffer.alloc(8);
  head.writeUInt32LE(type, 0);
  head.writeUInt32LE(length, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt32LE(length, 0);
  return Buffer.concat([head, body, ...opts, tail], length);
};

/** The Section Header Block that starts a capture (section length unknown: written as it goes). */
export const encodeSectionHeader = (application = 'vfio-user-rx'): Buffer => {
  const body = Buffer.alloc(16);
  body.writeUInt32LE(BYTE_ORDER_MAGIC, 0);
  body.writeUInt16LE(1, 4);
  body.writeUInt16LE(0, 6);
  body.writeBigInt64LE(-1n, 8);
  return block(BlockType.SECTION_HEADER, body, [option(OptionCode.SHB_USERAPPL, Buffer.from(application))]);
};

/** An Interface Description Block for one socket of a conversation. */
export const encodeInterface = (name: string): Buffer => {
  const body = Buffer.alloc(8);
  body.writeUInt16LE(LINKTYPE_VFIO_USER, 0);
  body.writeUInt32LE(0, 4); // snaplen 0: no limit, every message is captured whole
  return block(BlockType.INTERFACE, body, [option(OptionCode.IF_NAME, Buffer.from(name))]);
};

/** What an Enhanced Packet Block holds. */
export interface CapturedPacket {
  readonly interfaceId: number;
  /** Microseconds since the epoch. */
  readonly timestampUs: bigint;
  /** The message: header and payload. */
  readonly data: Buffer;
  readonly direction: 'in' | 'out';
  readonly fdInfo: readonly FdInfo[];
}

/**
 * An Enhanced Packet Block for one message, built in one allocation (a capture writes one per
 * message as the tap forwards). `data` may come in pieces (a header and a payload).
 */
export const encodeEnhancedPacket = (p: CapturedPacket | (Omit<CapturedPacket, 'data'> & { readonly data: readonly Buffer[] })): Buffer => {
  const pieces = Buffer.isBuffer(p.data) ? [p.data] : p.data;
  const length = pieces.reduce((n, b) => n + b.length, 0);
  const comment = p.fdInfo.length > 0 ? Buffer.from(`fds=${formatFdList(p.fdInfo)}`) : undefined;
  const total = 8 + 20 + pad4(length) + 8 + (comment ? 4 + pad4(comment.length) : 0) + 4 + 4;
  const buf = Buffer.alloc(total);
  buf.writeUInt32LE(BlockType.ENHANCED_PACKET, 0);
  buf.writeUInt32LE(total, 4);
  buf.writeUInt32LE(p.interfaceId, 8);
  buf.writeUInt32LE(Number(p.timestampUs >> 32n), 12);
  buf.writeUInt32LE(Number(p.timestampUs & 0xffffffffn), 16);
  buf.writeUInt32LE(length, 20);
  buf.writeUInt32LE(length, 24);
  let at = 28;
  for (const piece of pieces) at += piece.copy(buf, at);
  at = 28 + pad4(length);
  buf.writeUInt16LE(OptionCode.EPB_FLAGS, at);
  buf.writeUInt16LE(4, at + 2);
  buf.writeUInt32LE(p.direction === 'in' ? EpbDirection.INBOUND : EpbDirection.OUTBOUND, at + 4);
  at += 8;
  if (comment) {
    buf.writeUInt16LE(OptionCode.COMMENT, at);
    buf.writeUInt16LE(comment.length, at + 2);
    comment.copy(buf, at + 4);
    at += 4 + pad4(comment.length);
  }
  // Then opt_endofopt (zeros, as allocated) and the total length again.
  buf.writeUInt32LE(total, total - 4);
  return buf;
};
