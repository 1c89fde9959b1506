import { WRITE_MULTI_DATA_MAX, WRITE_MULTI_MAX } from './constants.js';
import { Errno } from './errno.js';
import { type PayloadReader, reader, u32At } from './reader.js';
import { invalidInput, putU32, putU64 } from './writer.js';

/** One posted write inside REGION_WRITE_MULTI. */
export interface WriteMultiEntry {
  readonly offset: number;
  readonly region: number;
  /** Bytes to write, at most 8. */
  readonly count: number;
  /** The `count` bytes written (the wire carries them left-justified in 8 bytes). */
  readonly data: Buffer;
}

/** REGION_WRITE_MULTI request. */
export interface WriteMultiRequest {
  /** Number of entries. */
  readonly wr_cnt: number;
  readonly entries: readonly WriteMultiEntry[];
}

/** REGION_WRITE_MULTI reply: how many writes completed. */
export interface WriteMultiReply {
  readonly wr_cnt: number;
}

/** Size of one REGION_WRITE_MULTI entry. */
export const WRITE_MULTI_ENTRY_SIZE = 24;
const CMD = 'REGION_WRITE_MULTI';

/** Encodes a REGION_WRITE_MULTI request from its entries (at most 200, each at most 8 bytes). */
export const encodeWriteMultiRequest = (x: { entries: readonly WriteMultiEntry[] }): Buffer => {
  if (x.entries.length > WRITE_MULTI_MAX) invalidInput(CMD, 'wr_cnt', `${x.entries.length} > ${WRITE_MULTI_MAX}`);
  const buf = Buffer.alloc(8 + WRITE_MULTI_ENTRY_SIZE * x.entries.length);
  putU64(buf, 0, x.entries.length, 'wr_cnt');
  x.entries.forEach((e, i) => {
    const at = 8 + WRITE_MULTI_ENTRY_SIZE * i;
    if (e.data.length > WRITE_MULTI_DATA_MAX || e.data.length !== e.count) {
      invalidInput(CMD, 'count', `entry ${i}: count ${e.count}, ${e.data.length} data bytes (at most 8)`);
    }
    putU64(buf, at, e.offset, 'offset');
    putU32(buf, at + 8, e.region, 'region');
    putU32(buf, at + 12, e.count, 'count');
    e.data.copy(buf, at + 16);
  });
  return buf;
};

/** Bytes of a REGION_WRITE_MULTI request of `count` entries. */
export const writeMultiSize = (count: number): number => 8 + WRITE_MULTI_ENTRY_SIZE * count;

/**
 * Puts entry `index` of a REGION_WRITE_MULTI request into `buf` from the payload of a REGION_WRITE
 * request of at most 8 data bytes, as its sender encoded it (a coalescer's writes: checked when they
 * were made). An entry begins with the same 16 bytes as that payload (offset, region, count), so
 * they are copied; count is the data length, and the data is zero-padded to 8 bytes.
 */
export const putWriteMultiEntry = (buf: Buffer, index: number, write: Buffer): void => {
  const at = 8 + WRITE_MULTI_ENTRY_SIZE * index;
  const count = write.length - 16;
  if (count < 0 || count > WRITE_MULTI_DATA_MAX) invalidInput(CMD, 'count', `entry ${index}: ${count} data bytes (at most 8)`);
  buf.set(write, at);
  buf.writeUInt32LE(count, at + 12);
  // A few bytes: a loop costs less than fill() here.
  for (let i = at + 16 + count; i < at + WRITE_MULTI_ENTRY_SIZE; i++) buf[i] = 0;
};

/** Ends a REGION_WRITE_MULTI request of `count` entries put with putWriteMultiEntry: its wr_cnt, and the request's bytes. */
export const finishWriteMulti = (buf: Buffer, count: number): Buffer => {
  if (count > WRITE_MULTI_MAX) invalidInput(CMD, 'wr_cnt', `${count} > ${WRITE_MULTI_MAX}`);
  buf.writeUInt32LE(count, 0);
  buf.writeUInt32LE(0, 4);
  return buf.subarray(0, writeMultiSize(count));
};

const readEntry = (r: PayloadReader, at: number): WriteMultiEntry => {
  const count = r.u32(at + 12, 'count');
  if (count > WRITE_MULTI_DATA_MAX) r.fail('count', `${count} > ${WRITE_MULTI_DATA_MAX} in entry at ${at}`);
  return { offset: r.u64(at, 'offset'), region: r.u32(at + 8, 'region'), count, data: r.bytes(at + 16, count, 'data') };
};

/** The high half of a u64 offset below which it stays a safe integer. */
const HIGH_SAFE = 0x1fffff;

/**
 * The entries of a well-formed request, read directly; undefined for anything the checked decoder
 * below has to judge (a wrong size, wr_cnt above the limit, a count above 8, an unsafe offset).
 * A server decodes one for every batch of a client's coalesced posted writes.
 */
const entriesOf = (payload: Buffer, max: number): WriteMultiEntry[] | undefined => {
  if (payload.length < 8 || u32At(payload, 4) !== 0) return undefined;
  const count = u32At(payload, 0);
  if (count > max || payload.length !== 8 + WRITE_MULTI_ENTRY_SIZE * count) return undefined;
  const entries: WriteMultiEntry[] = new Array(count);
  for (let i = 0, at = 8; i < count; i++, at += WRITE_MULTI_ENTRY_SIZE) {
    const n = u32At(payload, at + 12);
    const high = u32At(payload, at + 4);
    if (n > WRITE_MULTI_DATA_MAX || high > HIGH_SAFE) return undefined;
    entries[i] = { offset: high * 0x1_0000_0000 + u32At(payload, at), region: u32At(payload, at + 8), count: n, data: payload.subarray(at + 16, at + 16 + n) };
  }
  return entries;
};

/** Decodes a REGION_WRITE_MULTI request: wr_cnt entries exactly, at most `maxEntries` (E2BIG). */
export const decodeWriteMultiRequest = (payload: Buffer, limits: { maxEntries?: number } = {}): WriteMultiRequest => {
  const fast = entriesOf(payload, limits.maxEntries ?? WRITE_MULTI_MAX);
  if (fast) return { wr_cnt: fast.length, entries: fast };
  const r = reader(CMD, payload).need(8);
  const wr_cnt = r.u64(0, 'wr_cnt');
  const max = limits.maxEntries ?? WRITE_MULTI_MAX;
  if (wr_cnt > max) r.fail('wr_cnt', `${wr_cnt} > ${max}`, Errno.E2BIG);
  r.exactly(8 + WRITE_MULTI_ENTRY_SIZE * wr_cnt);
  const entries = Array.from({ length: wr_cnt }, (_, i) => readEntry(r, 8 + WRITE_MULTI_ENTRY_SIZE * i));
  return { wr_cnt, entries };
};

/** Encodes a REGION_WRITE_MULTI reply. */
export const encodeWriteMultiReply = (x: WriteMultiReply): Buffer => {
  const buf = Buffer.alloc(8);
  putU64(buf, 0, x.wr_cnt, 'wr_cnt');
  return buf;
};

/** Decodes a REGION_WRITE_MULTI reply; with the request, wr_cnt may not exceed its entries. */
export const decodeWriteMultiReply = (payload: Buffer, request?: WriteMultiRequest): WriteMultiReply => {
  const r = reader(CMD, payload).exactly(8);
  const wr_cnt = r.u64(0, 'wr_cnt');
  if (request && wr_cnt > request.wr_cnt) r.fail('wr_cnt', `${wr_cnt} > ${request.wr_cnt} writes sent`);
  return { wr_cnt };
};
