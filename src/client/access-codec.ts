import { MalformedMessageError } from '../protocol/errors.js';
import {
  REGION_ACCESS_SIZE,
  decodeRegionReadReply,
  decodeRegionWriteReply,
  type RegionAccess,
} from '../protocol/region-access.js';

const TWO_32 = 0x1_0000_0000;

/** The region access struct (offset u64, region u32, count u32) followed by `data` if any. */
const encode = (offset: number, region: number, count: number, data?: Buffer): Buffer => {
  // Every byte is written below: no zero-fill, and small buffers come from Node's pool.
  const buf = Buffer.allocUnsafe(REGION_ACCESS_SIZE + (data?.length ?? 0));
  buf.writeUInt32LE(offset % TWO_32, 0);
  buf.writeUInt32LE(Math.floor(offset / TWO_32), 4);
  buf.writeUInt32LE(region, 8);
  buf.writeUInt32LE(count, 12);
  data?.copy(buf, REGION_ACCESS_SIZE);
  return buf;
};

/**
 * Encodes a REGION_READ request whose fields the region accessor has already checked (safe
 * non-negative offset, u32 region and count): the checked protocol encoder costs more than the rest
 * of the request on this path.
 */
export const encodeReadFast = (a: RegionAccess): Buffer => encode(a.offset, a.region, a.count);

/** Encodes a REGION_WRITE request of checked fields (see encodeReadFast); count is the data length. */
export const encodeWriteFast = (offset: number, region: number, data: Buffer): Buffer => encode(offset, region, data.length, data);

/** Whether a reply's access struct echoes the request exactly, with `dataBytes` bytes after it. */
const echoes = (p: Buffer, a: RegionAccess, dataBytes: number): boolean =>
  p.length === REGION_ACCESS_SIZE + dataBytes &&
  p.readUInt32LE(12) === a.count &&
  p.readUInt32LE(8) === a.region &&
  p.readUInt32LE(0) === a.offset % TWO_32 &&
  p.readUInt32LE(4) === Math.floor(a.offset / TWO_32);

/**
 * The data of a REGION_READ reply to `a`, a view of the payload (a reply frame is never released,
 * so its buffer is never reused). A reply that is not the exact echo goes through the protocol
 * decoder, whose typed error names what is wrong; one it accepts is a short read.
 */
export const readReplyData = (p: Buffer, a: RegionAccess): Buffer => {
  if (echoes(p, a, a.count)) return p.subarray(REGION_ACCESS_SIZE);
  const reply = decodeRegionReadReply(p, a);
  if (reply.count !== a.count) throw new MalformedMessageError('REGION_READ', 'count', `short read: ${reply.count} of ${a.count}`);
  return reply.data ?? Buffer.alloc(0);
};

/** Checks a REGION_WRITE reply to `a` as readReplyData does (exact echo fast, else the protocol decoder). */
export const checkWriteReply = (p: Buffer, a: RegionAccess): void => {
  if (echoes(p, a, 0)) return;
  const reply = decodeRegionWriteReply(p, a);
  if (reply.count !== a.count) throw new MalformedMessageError('REGION_WRITE', 'count', `short write: ${reply.count} of ${a.count}`);
};
