/**
 * Reads a pcapng capture of vfio-user messages back (the blocks pcapng.ts writes, and any other
 * writer's: unknown blocks and options are skipped). Damage is a CaptureFormatError; a capture cut
 * short while it was written (the last block incomplete) is read up to it and says so.
 */
import { CaptureFormatError } from '../protocol/errors.js';
import { parseFdList } from '../protocol/fd-info.js';
import { BYTE_ORDER_MAGIC, BlockType, EpbDirection, LINKTYPE_VFIO_USER, OptionCode, type CapturedPacket } from './pcapng.js';

/** An interface of a capture. */
export interface CapturedInterface {
  readonly linkType: number;
  readonly name: string | undefined;
}

/** A capture read back. */
export interface Capture {
  readonly interfaces: readonly CapturedInterface[];
  readonly packets: readonly CapturedPacket[];
  /** Bytes at the end that do not make a whole block (a capture still being written, or cut). */
  readonly trailing: number;
}

const options = (buf: Buffer, at: number, end: number): Map<number, Buffer> => {
  const found = new Map<number, Buffer>();
  while (at + 4 <= end) {
    const code = buf.readUInt16LE(at);
    const length = buf.readUInt16LE(at + 2);
    if (code === OptionCode.END) break;
    if (at + 4 + length > end) throw new CaptureFormatError(`option ${code} at byte ${at} runs past its block`);
    if (!found.has(code)) found.set(code, buf.subarray(at + 4, at + 4 + length));
    at += 4 + ((length + 3) & ~3);
  }
  return found;
};

const packet = (buf: Buffer, at: number, end: number, interfaces: readonly CapturedInterface[]): CapturedPacket => {
  if (end - at < 20) throw new CaptureFormatError(`enhanced packet block at byte ${at - 8} is too short`);
  const interfaceId = buf.readUInt32LE(at);
  const linkType = interfaces[interfaceId]?.linkType;
  if (linkType === undefined) throw new CaptureFormatError(`packet at byte ${at - 8} names interface ${interfaceId}, which is not described`);
  if (linkType !== LINKTYPE_VFIO_USER) throw new CaptureFormatError(`interface ${interfaceId} has link type ${linkType}, not vfio-user's ${LINKTYPE_VFIO_USER} (LINKTYPE_USER0)`);
  const timestampUs = (BigInt(buf.readUInt32LE(at + 4)) << 32n) | BigInt(buf.readUInt32LE(at + 8));
  const captured = buf.readUInt32LE(at + 12);
  if (at + 20 + captured > end) throw new CaptureFormatError(`packet at byte ${at - 8} claims ${captured} bytes, more than its block holds`);
  const opts = options(buf, at + 20 + ((captured + 3) & ~3), end);
  const flags = opts.get(OptionCode.EPB_FLAGS);
  const direction = flags && flags.length >= 4 && (flags.readUInt32LE(0) & 3) === EpbDirection.INBOUND ? 'in' : 'out';
  const comment = opts.get(OptionCode.COMMENT)?.toString('utf8') ?? '';
  const fdInfo = comment.startsWith('fds=') ? parseFdList(comment.slice(4)) : [];
  return { interfaceId, timestampUs, data: buf.subarray(at + 20, at + 20 + captured), direction, fdInfo };
};

/** Reads a whole capture file's bytes. */
export const readPcapng = (buf: Buffer): Capture => {
  const interfaces: CapturedInterface[] = [];
  const packets: CapturedPacket[] = [];
  let at = 0;
  if (buf.length < 12 || buf.readUInt32LE(0) !== BlockType.SECTION_HEADER) throw new CaptureFormatError('not a pcapng file (no section header block at its start)');
  while (at + 12 <= buf.length) {
    const type = buf.readUInt32LE(at);
    const length = buf.readUInt32LE(at + 4);
    if (length < 12 || length % 4 !== 0) throw new CaptureFormatError(`block at byte ${at} has a bad length ${length}`);
    if (at + length > buf.length) break;
    if (buf.readUInt32LE(at + length - 4) !== length) throw new CaptureFormatError(`block at byte ${at}: its two lengths differ`);
    const body = at + 8;
    const end = at + length - 4;
    if (type === BlockType.SECTION_HEADER) {
      if (buf.readUInt32LE(body) !== BYTE_ORDER_MAGIC) throw new CaptureFormatError('the capture is big-endian or damaged (byte-order magic)');
      interfaces.length = 0;
    } else if (type === BlockType.INTERFACE) {
      if (end - body < 8) throw new CaptureFormatError(`interface block at byte ${at} is too short`);
      const name = options(buf, body + 8, end).get(OptionCode.IF_NAME)?.toString('utf8');
      interfaces.push({ linkType: buf.readUInt16LE(body), name });
    } else if (type === BlockType.ENHANCED_PACKET) {
      packets.push(packet(buf, body, end, interfaces));
    }
    at += length;
  }
  return { interfaces, packets, trailing: buf.length - at };
};
