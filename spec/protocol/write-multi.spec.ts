import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  decodeWriteMultiReply, decodeWriteMultiRequest, encodeWriteMultiReply, encodeWriteMultiRequest, finishWriteMulti, putWriteMultiEntry, writeMultiSize,
} from '../../src/protocol/write-multi.js';
import { encodeRegionWriteRequest } from '../../src/protocol/region-access.js';
import { arb, assertHex, assertMalformed, hex, rec } from './helpers.js';

// wr_cnt 2, then two 24-byte entries: offset u64 | region u32 | count u32 | data (8 bytes, left-justified)
const REQUEST =
  '02 00 00 00 00 00 00 00' +
  '10 00 00 00 00 00 00 00  00 00 00 00  04 00 00 00  78 56 34 12 00 00 00 00' +
  '18 00 00 00 00 00 00 00  02 00 00 00  01 00 00 00  ff 00 00 00 00 00 00 00';
const entries = [
  { offset: 0x10, region: 0, count: 4, data: hex('78 56 34 12') },
  { offset: 0x18, region: 2, count: 1, data: hex('ff') },
];

test('request: wr_cnt then entries with left-justified data', () => {
  assertHex(encodeWriteMultiRequest({ entries }), REQUEST);
  assert.equal(decodeWriteMultiRequest(hex(REQUEST)), { wr_cnt: 2, entries });
});

test('request: the payload must hold exactly wr_cnt entries', () => {
  assertMalformed(() => decodeWriteMultiRequest(hex(REQUEST).subarray(0, 8 + 24)), 'payload');
  assertMalformed(() => decodeWriteMultiRequest(hex(`${REQUEST} 00`)), 'payload');
  assertMalformed(() => decodeWriteMultiRequest(hex('02 00 00 00')), 'payload');
});

test('request: more than 200 entries (or the limit given) is E2BIG', () => {
  const many = Buffer.alloc(8);
  many.writeUInt32LE(201, 0);
  assertMalformed(() => decodeWriteMultiRequest(many), 'wr_cnt', 7);
  assertMalformed(() => decodeWriteMultiRequest(hex(REQUEST), { maxEntries: 1 }), 'wr_cnt', 7);
});

test('request: an entry count above 8 is EINVAL', () => {
  const buf = hex(REQUEST);
  buf[8 + 12] = 9;
  assertMalformed(() => decodeWriteMultiRequest(buf), 'count');
});

test('request: a wr_cnt or an entry offset past 2^53-1 is refused', () => {
  const high = Buffer.alloc(8);
  high.writeUInt32LE(1, 4);
  assertMalformed(() => decodeWriteMultiRequest(high), 'wr_cnt', 7);
  const far = hex(REQUEST);
  far.writeUInt32LE(0x200000, 8 + 24 + 4);
  assertMalformed(() => decodeWriteMultiRequest(far), 'offset', 75);
  far.writeUInt32LE(0x1fffff, 8 + 24 + 4);
  assert.is(decodeWriteMultiRequest(far).entries[1]!.offset, 0x1fffff * 2 ** 32 + 0x18);
});

test('request: the encoder refuses more than 8 bytes or more than 200 entries', () => {
  assert.throws(() => encodeWriteMultiRequest({ entries: [{ offset: 0, region: 0, count: 9, data: Buffer.alloc(9) }] }), (e: unknown) => e instanceof RangeError);
  const entry = { offset: 0, region: 0, count: 1, data: hex('00') };
  assert.throws(() => encodeWriteMultiRequest({ entries: Array.from({ length: 201 }, () => entry) }), (e: unknown) => e instanceof RangeError);
});

test('reply: wr_cnt u64, not above the writes sent', () => {
  assertHex(encodeWriteMultiReply({ wr_cnt: 2 }), '02 00 00 00 00 00 00 00');
  assert.equal(decodeWriteMultiReply(hex('02 00 00 00 00 00 00 00'), { wr_cnt: 2, entries }), { wr_cnt: 2 });
  assertMalformed(() => decodeWriteMultiReply(hex('03 00 00 00 00 00 00 00'), { wr_cnt: 2, entries }), 'wr_cnt');
  assertMalformed(() => decodeWriteMultiReply(hex('02 00 00 00')), 'payload');
});

test('request put from REGION_WRITE payloads: the same bytes as the encoder, whatever the buffer held before', () => {
  const buf = Buffer.alloc(writeMultiSize(3), 0xee);
  entries.forEach((e, i) => putWriteMultiEntry(buf, i, encodeRegionWriteRequest(e)));
  assertHex(finishWriteMulti(buf, entries.length), REQUEST);
  const entry = rec({ offset: arb.u64(), region: arb.u32(), data: arb.bytes(8) }).map((e) => ({ ...e, count: e.data.length }));
  fc.assert(
    fc.property(fc.array(entry, { maxLength: 200 }), (list) => {
      const into = Buffer.alloc(writeMultiSize(200), 0xa5);
      list.forEach((e, i) => putWriteMultiEntry(into, i, encodeRegionWriteRequest(e)));
      assert.equal(finishWriteMulti(into, list.length).toString('hex'), encodeWriteMultiRequest({ entries: list }).toString('hex'));
    }),
    { numRuns: 50 },
  );
});

test('request put from payloads: more than 8 data bytes, or more than 200 entries, are refused', () => {
  const buf = Buffer.alloc(writeMultiSize(201));
  assert.throws(() => putWriteMultiEntry(buf, 0, encodeRegionWriteRequest({ offset: 0, region: 0, data: Buffer.alloc(9) })), (e: unknown) => e instanceof RangeError);
  assert.throws(() => putWriteMultiEntry(buf, 0, Buffer.alloc(12)), (e: unknown) => e instanceof RangeError);
  assert.throws(() => finishWriteMulti(buf, 201), (e: unknown) => e instanceof RangeError);
});

test('request round-trips', () => {
  const entry = rec({ offset: arb.u64(), region: arb.u32(), data: arb.bytes(8) }).map((e) => ({ ...e, count: e.data.length }));
  fc.assert(
    fc.property(fc.array(entry, { maxLength: 200 }), (list) => {
      assert.equal(decodeWriteMultiRequest(encodeWriteMultiRequest({ entries: list })), { wr_cnt: list.length, entries: list });
    }),
    { numRuns: 50 },
  );
});

test.run();
