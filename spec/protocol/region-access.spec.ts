import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { MalformedMessageError } from '../../src/protocol/errors.js';
import {
  decodeRegionReadReply, decodeRegionReadRequest, decodeRegionWriteReply, decodeRegionWriteRequest, decodeRegionWriteWith,
  encodeRegionReadReply, encodeRegionReadRequest, encodeRegionWriteReply, encodeRegionWriteRequest,
} from '../../src/protocol/region-access.js';
import { arb, assertHex, assertMalformed, hex, rec } from './helpers.js';

// offset 0 | region 7 (config) | count 4
const READ_REQUEST = '00 00 00 00 00 00 00 00  07 00 00 00  04 00 00 00';
// same, then the vendor/device ids 0x8086 / 0x0010
const READ_REPLY = `${READ_REQUEST}  86 80 10 00`;
// offset 4 | region 7 | count 2 | data 06 00 (command register)
const WRITE_REQUEST = '04 00 00 00 00 00 00 00  07 00 00 00  02 00 00 00  06 00';
const WRITE_REPLY = '04 00 00 00 00 00 00 00  07 00 00 00  02 00 00 00';
const readReq = { offset: 0, region: 7, count: 4 };

test('REGION_READ request: offset, region, count', () => {
  assertHex(encodeRegionReadRequest(readReq), READ_REQUEST);
  assert.equal(decodeRegionReadRequest(hex(READ_REQUEST)), readReq);
});

test('REGION_READ request: must be exactly 16 bytes', () => {
  assertMalformed(() => decodeRegionReadRequest(hex(READ_REQUEST).subarray(0, 15)), 'payload');
  assertMalformed(() => decodeRegionReadRequest(hex(`${READ_REQUEST} 00`)), 'payload');
});

test('REGION_READ request: count above max_data_xfer_size is E2BIG', () => {
  assertMalformed(() => decodeRegionReadRequest(hex(READ_REQUEST), { maxDataXferSize: 2 }), 'count', 7);
  assert.equal(decodeRegionReadRequest(hex(READ_REQUEST), { maxDataXferSize: 4 }), readReq);
});

test('REGION_READ reply: the fields, then the data', () => {
  assertHex(encodeRegionReadReply({ offset: 0, region: 7, data: hex('86 80 10 00') }), READ_REPLY);
  assert.equal(decodeRegionReadReply(hex(READ_REPLY), readReq), { ...readReq, data: hex('86 80 10 00') });
});

test('REGION_READ reply: more data than requested is E2BIG (as QEMU)', () => {
  const more = '00 00 00 00 00 00 00 00  07 00 00 00  08 00 00 00  00 00 00 00 00 00 00 00';
  assertMalformed(() => decodeRegionReadReply(hex(more), readReq), 'count', 7);
});

test('REGION_READ reply: count must match the data and the fields echo the request', () => {
  assertMalformed(() => decodeRegionReadReply(hex(READ_REPLY).subarray(0, 18)), 'count');
  assertMalformed(() => decodeRegionReadReply(hex(READ_REPLY), { ...readReq, offset: 4 }), 'offset');
  assertMalformed(() => decodeRegionReadReply(hex(READ_REPLY), { ...readReq, region: 0 }), 'region');
  assertMalformed(() => decodeRegionReadReply(hex('00 00 00 00')), 'payload');
});

test('REGION_READ reply: a header-only reply answers a count-0 read', () => {
  const zero = { offset: 8, region: 2, count: 0 };
  assert.equal(decodeRegionReadReply(Buffer.alloc(0), zero), { ...zero, data: Buffer.alloc(0) });
  assertMalformed(() => decodeRegionReadReply(Buffer.alloc(0), readReq), 'payload');
  assertMalformed(() => decodeRegionReadReply(Buffer.alloc(0)), 'payload');
});

test('REGION_WRITE request: fields then data, count = data length', () => {
  assertHex(encodeRegionWriteRequest({ offset: 4, region: 7, data: hex('06 00') }), WRITE_REQUEST);
  assert.equal(decodeRegionWriteRequest(hex(WRITE_REQUEST)), { offset: 4, region: 7, count: 2, data: hex('06 00') });
});

test('REGION_WRITE request: count must equal msg_size - 32 exactly (as libvfio-user)', () => {
  assertMalformed(() => decodeRegionWriteRequest(hex(`${WRITE_REQUEST} 00`)), 'count');
  assertMalformed(() => decodeRegionWriteRequest(hex(WRITE_REQUEST).subarray(0, 17)), 'count');
  assertMalformed(() => decodeRegionWriteRequest(hex(WRITE_REQUEST).subarray(0, 10)), 'payload');
  assertMalformed(() => decodeRegionWriteRequest(hex(WRITE_REQUEST), { maxDataXferSize: 1 }), 'count', 7);
});

test('REGION_WRITE reply: 16 bytes echoing the request', () => {
  const request = { offset: 4, region: 7, count: 2 };
  assertHex(encodeRegionWriteReply(request), WRITE_REPLY);
  assert.equal(decodeRegionWriteReply(hex(WRITE_REPLY), request), request);
  assertMalformed(() => decodeRegionWriteReply(hex(WRITE_REPLY), { ...request, region: 2 }), 'region');
  assertMalformed(() => decodeRegionWriteReply(hex(WRITE_REPLY), { ...request, count: 1 }), 'count', 7);
  assertMalformed(() => decodeRegionWriteReply(hex(`${WRITE_REPLY} 06 00`)), 'payload');
});

test('region accesses round-trip', () => {
  const access = rec({ offset: arb.u64(), region: arb.u32(), data: arb.bytes(64) });
  fc.assert(
    fc.property(access, ({ offset, region, data }) => {
      const expected = { offset, region, count: data.length, data };
      assert.equal(decodeRegionWriteRequest(encodeRegionWriteRequest({ offset, region, data })), expected);
      assert.equal(decodeRegionReadReply(encodeRegionReadReply({ offset, region, data }), expected), expected);
      const header = { offset, region, count: data.length };
      assert.equal(decodeRegionReadRequest(encodeRegionReadRequest(header)), header);
      assert.equal(decodeRegionWriteReply(encodeRegionWriteReply(header), header), header);
    }),
  );
});

/** What a request decoder must make of any payload: the fields, or the field it rejects first. */
const model = (p: Buffer, withData: boolean, max: number | undefined) => {
  if (withData ? p.length < 16 : p.length !== 16) return 'payload';
  if (p.readBigUInt64LE(0) > BigInt(Number.MAX_SAFE_INTEGER)) return 'offset';
  const count = p.readUInt32LE(12);
  if (max !== undefined && count > max) return 'count';
  if (withData && count !== p.length - 16) return 'count';
  const fields = { offset: Number(p.readBigUInt64LE(0)), region: p.readUInt32LE(8), count };
  return withData ? { ...fields, data: p.subarray(16) } : fields;
};
const outcome = (decode: () => unknown) => {
  try {
    return decode();
  } catch (err) {
    assert.instance(err, MalformedMessageError);
    return (err as MalformedMessageError).field;
  }
};

test('request decoders accept exactly the well-formed payloads, whatever the bytes', () => {
  // Lengths and counts near each other, so that well-formed payloads are common too.
  const payload = fc.tuple(fc.uint8Array({ minLength: 0, maxLength: 24 }), fc.integer({ min: 0, max: 10 }), fc.boolean()).map(
    ([bytes, count, sane]) => {
      const p = Buffer.from(bytes);
      if (sane && p.length >= 16) {
        p.writeUInt32LE(p.readUInt32LE(4) & 0x1fffff, 4);
        p.writeUInt32LE(count, 12);
      }
      return p;
    },
  );
  const limit = fc.option(fc.integer({ min: 0, max: 12 }), { nil: undefined });
  fc.assert(
    fc.property(payload, limit, (p, max) => {
      const limits = max === undefined ? {} : { maxDataXferSize: max };
      assert.equal(outcome(() => decodeRegionWriteRequest(p, limits)), model(p, true, max));
      assert.equal(outcome(() => decodeRegionReadRequest(p, limits)), model(p, false, max));
      // Decoding into the caller's record gives the same fields and the same verdicts.
      const into = outcome(() => decodeRegionWriteWith(p, limits, (region, offset, data) => ({ offset, region, count: data.length, data })));
      assert.equal(into, outcome(() => decodeRegionWriteRequest(p, limits)));
    }),
    { numRuns: 2000 },
  );
});

test.run();
