import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { RegionFlags } from '../../src/protocol/constants.js';
import { type RegionCapability } from '../../src/protocol/region-caps.js';
import {
  decodeRegionInfoReply, decodeRegionInfoRequest, encodeRegionInfoReply, encodeRegionInfoRequest,
} from '../../src/protocol/region-info.js';
import { arb, assertHex, assertMalformed, hex, rec } from './helpers.js';

// argsz 32 | flags 0 | index 2 | cap_offset 0 | size 0 | offset 0
const REQUEST = '20 00 00 00  00 00 00 00  02 00 00 00  00 00 00 00  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00';
// argsz 64 | READ|WRITE|MMAP|CAPS | index 2 | cap_offset 0x20 | size 0x1000 | offset 2 << 40
const BAR2_FIXED = '40 00 00 00  0f 00 00 00  02 00 00 00  20 00 00 00  00 10 00 00 00 00 00 00  00 00 00 00 00 02 00 00';
// SPARSE_MMAP id 1 v1 next 0 | nr_areas 1 | reserved | area {offset 0, size 0x1000}
const BAR2_SPARSE = '01 00 01 00  00 00 00 00  01 00 00 00  00 00 00 00  00 00 00 00 00 00 00 00  00 10 00 00 00 00 00 00';
// The same region asked with argsz 32: full argsz 64 reported, CAPS clear, no caps.
const BAR2_TRUNCATED = '40 00 00 00  07 00 00 00  02 00 00 00  00 00 00 00  00 10 00 00 00 00 00 00  00 00 00 00 00 02 00 00';
// Region 9: argsz 96 | READ|CAPS | index 9 | cap_offset 0x20 | size 0x4000 | offset 0
//   @32 TYPE id 2 v1 next 0x30 | type PCI_VENDOR_TYPE|0x494f | subtype 1
//   @48 SPARSE_MMAP id 1 v1 next 0 | nr_areas 2 | reserved | {0, 0x1000} {0x3000, 0x1000}
const DEVICE_SPECIFIC =
  '60 00 00 00  09 00 00 00  09 00 00 00  20 00 00 00  00 40 00 00 00 00 00 00  00 00 00 00 00 00 00 00' +
  '02 00 01 00  30 00 00 00  4f 49 00 80  01 00 00 00' +
  '01 00 01 00  00 00 00 00  02 00 00 00  00 00 00 00' +
  '00 00 00 00 00 00 00 00  00 10 00 00 00 00 00 00  00 30 00 00 00 00 00 00  00 10 00 00 00 00 00 00';

const sparse = (areas: { offset: number; size: number }[]): RegionCapability => ({ kind: 'sparse_mmap', areas });
const bar2 = { flags: 7, index: 2, size: 0x1000, offset: 2 * 2 ** 40, caps: [sparse([{ offset: 0, size: 0x1000 }])] };

test('request: argsz and index, every other field 0', () => {
  assertHex(encodeRegionInfoRequest({ index: 2 }), REQUEST);
  assert.equal(decodeRegionInfoRequest(hex(REQUEST)), { argsz: 32, index: 2 });
});

test('request: short payload or argsz < 32 is EINVAL', () => {
  assertMalformed(() => decodeRegionInfoRequest(hex(REQUEST).subarray(0, 16)), 'payload');
  const small = hex(REQUEST);
  small[0] = 16;
  assertMalformed(() => decodeRegionInfoRequest(small), 'argsz');
});

test('reply: a mappable BAR with one sparse area, CAPS and cap_offset computed', () => {
  assertHex(encodeRegionInfoReply(bar2, 64), BAR2_FIXED + BAR2_SPARSE);
  assert.equal(decodeRegionInfoReply(hex(BAR2_FIXED + BAR2_SPARSE), { argsz: 64, index: 2 }), {
    argsz: 64, flags: 15, index: 2, cap_offset: 32, size: 0x1000, offset: 2 * 2 ** 40, caps: bar2.caps, truncated: false,
  });
});

test('reply: caps that do not fit the request argsz are left out, argsz tells the full size', () => {
  assertHex(encodeRegionInfoReply(bar2, 32), BAR2_TRUNCATED);
  const info = decodeRegionInfoReply(hex(BAR2_TRUNCATED), { argsz: 32, index: 2 });
  assert.is(info.truncated, true);
  assert.is(info.argsz, 64);
  assert.equal(info.caps, []);
});

test('reply: TYPE then SPARSE_MMAP chained through next', () => {
  const caps: RegionCapability[] = [
    { kind: 'type', type: 0x8000494f, subtype: 1 },
    sparse([{ offset: 0, size: 0x1000 }, { offset: 0x3000, size: 0x1000 }]),
  ];
  assertHex(encodeRegionInfoReply({ flags: RegionFlags.READ, index: 9, size: 0x4000, offset: 0, caps }), DEVICE_SPECIFIC);
  assert.equal(decodeRegionInfoReply(hex(DEVICE_SPECIFIC)).caps, caps);
});

test('reply: an unknown capability keeps its id, version and bytes', () => {
  // argsz 48 | READ|CAPS | index 0 | cap_offset 0x20 | size 0x100 | offset 0 | cap id 3 v1 next 0 | 8 bytes
  const bytes = '30 00 00 00  09 00 00 00  00 00 00 00  20 00 00 00  00 01 00 00 00 00 00 00  00 00 00 00 00 00 00 00' +
    '03 00 01 00  00 00 00 00  aa bb cc dd ee ff 00 11';
  assert.equal(decodeRegionInfoReply(hex(bytes)).caps, [{ kind: 'unknown', id: 3, version: 1, bytes: hex('aa bb cc dd ee ff 00 11') }]);
});

test('reply: a region without caps', () => {
  const cfg = '20 00 00 00  03 00 00 00  07 00 00 00  00 00 00 00  00 01 00 00 00 00 00 00  00 00 00 00 00 00 00 00';
  assertHex(encodeRegionInfoReply({ flags: 3, index: 7, size: 256, offset: 0 }), cfg);
  assert.equal(decodeRegionInfoReply(hex(cfg)).caps, []);
});

test('reply: short payload, argsz < 32, index not echoed', () => {
  assertMalformed(() => decodeRegionInfoReply(hex(BAR2_FIXED).subarray(0, 24)), 'payload');
  const small = hex(BAR2_TRUNCATED);
  small[0] = 24;
  assertMalformed(() => decodeRegionInfoReply(small), 'argsz');
  assertMalformed(() => decodeRegionInfoReply(hex(BAR2_TRUNCATED), { argsz: 32, index: 1 }), 'index');
  assertMalformed(() => decodeRegionInfoReply(hex(BAR2_FIXED + BAR2_SPARSE), { argsz: 32, index: 2 }), 'argsz', 7);
});

test('reply: cap_offset inside the fixed struct or beyond argsz', () => {
  const inside = hex(BAR2_FIXED + BAR2_SPARSE);
  inside[12] = 0x10;
  assertMalformed(() => decodeRegionInfoReply(inside), 'cap_offset');
  const zero = hex(BAR2_FIXED + BAR2_SPARSE);
  zero[12] = 0;
  assertMalformed(() => decodeRegionInfoReply(zero), 'cap_offset');
  const beyond = hex(BAR2_FIXED + BAR2_SPARSE);
  beyond[12] = 0x44;
  assertMalformed(() => decodeRegionInfoReply(beyond), 'cap_offset');
  const tail = hex(BAR2_FIXED + BAR2_SPARSE);
  tail[12] = 0x3c;
  assertMalformed(() => decodeRegionInfoReply(tail), 'cap_offset');
});

test('reply: a cap chain that loops is rejected', () => {
  const self = hex(BAR2_FIXED + BAR2_SPARSE);
  self[36] = 0x20;
  assertMalformed(() => decodeRegionInfoReply(self), 'next');
  const cycle = hex(DEVICE_SPECIFIC);
  cycle.writeUInt32LE(0x20, 48 + 4);
  assertMalformed(() => decodeRegionInfoReply(cycle), 'next');
});

test('reply: next running past the end is rejected', () => {
  const buf = hex(BAR2_FIXED + BAR2_SPARSE);
  buf.writeUInt32LE(0x80, 36);
  assertMalformed(() => decodeRegionInfoReply(buf), 'next');
});

test('reply: nr_areas beyond the bytes present is rejected', () => {
  const buf = hex(BAR2_FIXED + BAR2_SPARSE);
  buf.writeUInt32LE(2, 40);
  assertMalformed(() => decodeRegionInfoReply(buf), 'nr_areas');
  buf.writeUInt32LE(0xffffffff, 40);
  assertMalformed(() => decodeRegionInfoReply(buf), 'nr_areas');
});

const arbCap: fc.Arbitrary<RegionCapability> = fc.oneof(
  fc.array(rec({ offset: arb.u64(), size: arb.u64() }), { maxLength: 4 }).map((areas) => sparse(areas)),
  rec({ type: arb.u32(), subtype: arb.u32() }).map(({ type, subtype }): RegionCapability => ({ kind: 'type', type, subtype })),
  rec({ id: fc.integer({ min: 3, max: 0xffff }), version: arb.u16(), bytes: arb.bytes(24) })
    .map(({ id, version, bytes }): RegionCapability => ({ kind: 'unknown', id, version, bytes })),
);

test('reply round-trips any capability chain', () => {
  const input = rec({ flags: fc.integer({ min: 0, max: 7 }), index: arb.u32(), size: arb.u64(), offset: arb.u64(), caps: fc.array(arbCap, { maxLength: 5 }) });
  fc.assert(
    fc.property(input, (x) => {
      const info = decodeRegionInfoReply(encodeRegionInfoReply(x));
      assert.equal(info.caps, x.caps);
      assert.is(info.flags, x.caps.length > 0 ? x.flags | RegionFlags.CAPS : x.flags);
      assert.equal([info.index, info.size, info.offset, info.truncated], [x.index, x.size, x.offset, false]);
    }),
  );
});

test('any truncation of a reply decodes or fails with MalformedMessageError, never anything else', () => {
  fc.assert(
    fc.property(fc.nat(96), fc.nat(0xff), fc.nat(95), (cut, byte, at) => {
      const buf = hex(DEVICE_SPECIFIC);
      buf[at] = byte;
      try {
        decodeRegionInfoReply(buf.subarray(0, cut));
      } catch (e) {
        assert.is((e as Error).name, 'MalformedMessageError');
      }
    }),
  );
});

test.run();
