// The global Buffer of an ES module is a getter on globalThis, paid at every use: these run per message.
import { Buffer } from 'node:buffer';
import { Errno } from './errno.js';
import { MalformedMessageError } from './errors.js';
import { type PayloadReader, reader, u32At } from './reader.js';
import { invalidInput, putU32, putU32At, putU64 } from './writer.js';

/** REGION_READ / REGION_WRITE request or reply: where, how many bytes, and the data if any. */
export interface RegionAccess {
  readonly offset: number;
  readonly region: number;
  readonly count: number;
  /** Present in a read reply and a write request (a view of the payload, not a copy). */
  readonly data?: Buffer;
}

/** Limits a receiver enforces; pass its own max_data_xfer_size. */
export interface TransferLimits {
  readonly maxDataXferSize?: number;
}

/** Size of the region access struct before the data. */
export const REGION_ACCESS_SIZE = 16;

const encodeAccess = (cmd: string, x: { offset: number; region: number; count?: number; data?: Buffer }): Buffer => {
  const data = x.data ?? Buffer.alloc(0);
  const count = x.count ?? data.length;
  if (x.data && count !== data.length) invalidInput(cmd, 'count', `${count} but ${data.length} data bytes`);
  const buf = Buffer.alloc(REGION_ACCESS_SIZE + data.length);
  putU64(buf, 0, x.offset, 'offset');
  putU32(buf, 8, x.region, 'region');
  putU32(buf, 12, count, 'count');
  data.copy(buf, REGION_ACCESS_SIZE);
  return buf;
};

const readAccess = (r: PayloadReader) => ({
  offset: r.u64(0, 'offset'),
  region: r.u32(8, 'region'),
  count: r.u32(12, 'count'),
});

/** The largest high half of a u64 offset that stays a safe integer. */
const HIGH_SAFE = 0x1fffff;

/**
 * Whether a request is well formed, judged directly: false for anything the checked decoder below
 * has to judge (short, offset past 2^53-1, count above the limit, wrong data length). Register
 * accesses are the server's most frequent commands.
 */
const wellFormed = (payload: Buffer, limits: TransferLimits, dataBytes: (count: number) => number): boolean => {
  if (payload.length < REGION_ACCESS_SIZE) return false;
  const count = u32At(payload, 12);
  if (u32At(payload, 4) > HIGH_SAFE || (limits.maxDataXferSize !== undefined && count > limits.maxDataXferSize)) return false;
  return payload.length === REGION_ACCESS_SIZE + dataBytes(count);
};

/** The fields of a well-formed request (see wellFormed). */
const offsetOf = (payload: Buffer): number => u32At(payload, 4) * 0x1_0000_0000 + u32At(payload, 0);

const noData = (): number => 0;
const countBytes = (count: number): number => count;

const checkLimit = (r: PayloadReader, count: number, limits: TransferLimits): void => {
  const max = limits.maxDataXferSize;
  if (max !== undefined && count > max) r.fail('count', `${count} > max_data_xfer_size ${max}`, Errno.E2BIG);
};

/** Encodes a REGION_READ request. */
export const encodeRegionReadRequest = (x: { offset: number; region: number; count: number }): Buffer =>
  encodeAccess('REGION_READ', x);

/** Decodes a REGION_READ request (exactly 16 bytes; count checked against the limit if given). */
export const decodeRegionReadRequest = (payload: Buffer, limits: TransferLimits = {}): RegionAccess => {
  if (wellFormed(payload, limits, noData)) return { offset: offsetOf(payload), region: payload.readUInt32LE(8), count: payload.readUInt32LE(12) };
  const r = reader('REGION_READ', payload).exactly(REGION_ACCESS_SIZE);
  const x = readAccess(r);
  checkLimit(r, x.count, limits);
  return x;
};

/** Encodes a REGION_READ reply; count is the data length. */
export const encodeRegionReadReply = (x: { offset: number; region: number; data: Buffer }): Buffer =>
  encodeAccess('REGION_READ', x);

/**
 * Decodes a REGION_READ reply. With the request: the count may not exceed it (E2BIG, as QEMU),
 * offset and region must echo it, and a header-only reply is accepted for a count-0 read.
 */
export const decodeRegionReadReply = (payload: Buffer, request?: RegionAccess): RegionAccess => {
  const r = reader('REGION_READ', payload);
  // libvfio-user answers a count-0 read with a header-only reply.
  if (payload.length === 0 && request?.count === 0) {
    return { offset: request.offset, region: request.region, count: 0, data: Buffer.alloc(0) };
  }
  r.need(REGION_ACCESS_SIZE);
  const x = readAccess(r);
  if (request && x.count > request.count) r.fail('count', `${x.count} > requested ${request.count}`, Errno.E2BIG);
  if (x.count !== payload.length - REGION_ACCESS_SIZE) {
    r.fail('count', `${x.count} but ${payload.length - REGION_ACCESS_SIZE} data bytes`);
  }
  r.echo('offset', x.offset, request?.offset).echo('region', x.region, request?.region);
  return { ...x, data: r.bytes(REGION_ACCESS_SIZE, x.count, 'data') };
};

/** Encodes a REGION_WRITE request; count is the data length. */
export const encodeRegionWriteRequest = (x: { offset: number; region: number; data: Buffer }): Buffer =>
  encodeAccess('REGION_WRITE', x);

/** Decodes a REGION_WRITE request: count must equal the data length exactly (as libvfio-user). */
export const decodeRegionWriteRequest = (payload: Buffer, limits: TransferLimits = {}): RegionAccess => {
  if (wellFormed(payload, limits, countBytes)) {
    return { offset: offsetOf(payload), region: u32At(payload, 8), count: u32At(payload, 12), data: payload.subarray(REGION_ACCESS_SIZE) };
  }
  const r = reader('REGION_WRITE', payload).need(REGION_ACCESS_SIZE);
  const x = readAccess(r);
  checkLimit(r, x.count, limits);
  if (x.count !== payload.length - REGION_ACCESS_SIZE) {
    r.fail('count', `${x.count} but ${payload.length - REGION_ACCESS_SIZE} data bytes`);
  }
  return { ...x, data: r.bytes(REGION_ACCESS_SIZE, x.count, 'data') };
};

/**
 * Decodes a REGION_WRITE request straight into the caller's record (`make`, a function made once):
 * a well-formed request costs no object of its own, which a server's posted writes notice. The
 * checks and errors are decodeRegionWriteRequest's.
 */
export const decodeRegionWriteWith = <T>(payload: Buffer, limits: TransferLimits, make: (region: number, offset: number, data: Buffer) => T): T => {
  if (wellFormed(payload, limits, countBytes)) return make(u32At(payload, 8), offsetOf(payload), payload.subarray(REGION_ACCESS_SIZE));
  const req = decodeRegionWriteRequest(payload, limits);
  return make(req.region, req.offset, req.data!);
};

/** Encodes a REGION_WRITE reply (offset, region, bytes written). */
export const encodeRegionWriteReply = (x: { offset: number; region: number; count: number }): Buffer =>
  // Only the three fields: a decoded request passed in still carries its data, which a reply must not.
  encodeAccess('REGION_WRITE', { offset: x.offset, region: x.region, count: x.count });

/** Decodes a REGION_WRITE reply (exactly 16 bytes); with the request, checks the echo. */
export const decodeRegionWriteReply = (payload: Buffer, request?: RegionAccess): RegionAccess => {
  const r = reader('REGION_WRITE', payload).exactly(REGION_ACCESS_SIZE);
  const x = readAccess(r);
  if (request && x.count > request.count) r.fail('count', `${x.count} > requested ${request.count}`, Errno.E2BIG);
  r.echo('offset', x.offset, request?.offset).echo('region', x.region, request?.region);
  return x;
};

// The register-access fast path: a client's region accessor checks its fields once (safe offset,
// u32 region and count) and then sends and checks through these, which the specs hold to the same
// bytes and the same verdicts as the checked codec above.

const TWO_32 = 0x1_0000_0000;

/**
 * The region access struct (offset u64, region u32, count u32) followed by `data` if any, for
 * fields already checked (safe non-negative offset, u32 region and count): requests of the
 * client's accessor and the server's replies, which echo a decoded request.
 */
export const encodeRegionAccessFast = (offset: number, region: number, count: number, data?: Buffer): Buffer => {
  // Every byte is written below: no zero-fill, and small buffers come from Node's pool. The fields
  // are checked, so they are stored byte by byte (checked Buffer writes cost several times more).
  const buf = Buffer.allocUnsafe(REGION_ACCESS_SIZE + (data?.length ?? 0));
  putU32At(buf, 0, offset % TWO_32);
  putU32At(buf, 4, Math.floor(offset / TWO_32));
  putU32At(buf, 8, region);
  putU32At(buf, 12, count);
  if (data === undefined) return buf;
  // A register's few bytes: a loop costs less than copy().
  if (data.length <= 16) for (let i = 0; i < data.length; i++) buf[REGION_ACCESS_SIZE + i] = data[i]!;
  else data.copy(buf, REGION_ACCESS_SIZE);
  return buf;
};


/**
 * Encodes a REGION_READ request whose fields the region accessor has already checked (safe
 * non-negative offset, u32 region and count): the checked protocol encoder costs more than the rest
 * of the request on this path.
 */
export const encodeReadFast = (a: RegionAccess): Buffer => encodeRegionAccessFast(a.offset, a.region, a.count);

/** Encodes a REGION_WRITE request of checked fields (see encodeReadFast); count is the data length. */
export const encodeWriteFast = (offset: number, region: number, data: Buffer): Buffer => encodeRegionAccessFast(offset, region, data.length, data);

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
