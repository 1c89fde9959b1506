import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  decodeIoFdsReply, decodeIoFdsRequest, encodeIoFdsReply, encodeIoFdsRequest, type IoFdEntry,
} from '../../src/protocol/io-fds.js';
import { arb, assertHex, assertMalformed, hex, rec } from './helpers.js';

// argsz 96 | flags 0 | index 1 | count 0
const REQUEST = '60 00 00 00  00 00 00 00  01 00 00 00  00 00 00 00';
// argsz 96 = 16 + 2 x 40 | flags 0 | index 1 | count 2
const SPEC_HEADER = '60 00 00 00  00 00 00 00  01 00 00 00  02 00 00 00';
// ioeventfd: offset 0x10 | size 4 | fd_index 0 | type 0 | flags DATAMATCH | padding | datamatch 0xdeadbeef
const SPEC_IOEVENTFD = '10 00 00 00 00 00 00 00  04 00 00 00 00 00 00 00  00 00 00 00  00 00 00 00  01 00 00 00  00 00 00 00  ef be ad de 00 00 00 00';
// ioregionfd: offset 0x100 | size 0x100 | fd_index 1 | type 1 | flags 0 | padding | user_data 0x42
const SPEC_IOREGIONFD = '00 01 00 00 00 00 00 00  00 01 00 00 00 00 00 00  01 00 00 00  01 00 00 00  00 00 00 00  00 00 00 00  42 00 00 00 00 00 00 00';
// libvfio-user: argsz 112 = 16 + 2 x 48
const LVU_HEADER = '70 00 00 00  00 00 00 00  01 00 00 00  02 00 00 00';
// gpa_offset 0x10 | size 4 | fd_index 0 | type 0 | flags 1 | shadow_mem_fd_index 0 | shadow_offset 0 | datamatch 0xdeadbeef
const LVU_IOEVENTFD =
  '10 00 00 00 00 00 00 00  04 00 00 00 00 00 00 00  00 00 00 00  00 00 00 00  01 00 00 00  00 00 00 00  00 00 00 00 00 00 00 00  ef be ad de 00 00 00 00';
// gpa_offset 0x20 | size 8 | fd_index 1 | type 2 (SHADOW) | flags 0 | shadow_mem_fd_index 2 | shadow_offset 0x1000 | datamatch 0
const LVU_SHADOW =
  '20 00 00 00 00 00 00 00  08 00 00 00 00 00 00 00  01 00 00 00  02 00 00 00  00 00 00 00  02 00 00 00  00 10 00 00 00 00 00 00  00 00 00 00 00 00 00 00';

const specEntries: IoFdEntry[] = [
  { offset: 0x10, size: 4, fd_index: 0, type: 0, flags: 1, datamatch: 0xdeadbeef },
  { offset: 0x100, size: 0x100, fd_index: 1, type: 1, flags: 0, user_data: 0x42 },
];
const lvuEntries: IoFdEntry[] = [
  { offset: 0x10, size: 4, fd_index: 0, type: 0, flags: 1, shadow_mem_fd_index: 0, shadow_offset: 0, datamatch: 0xdeadbeef },
  { offset: 0x20, size: 8, fd_index: 1, type: 2, flags: 0, shadow_mem_fd_index: 2, shadow_offset: 0x1000, datamatch: 0 },
];

test('request: argsz, flags 0, index, count 0', () => {
  assertHex(encodeIoFdsRequest({ argsz: 96, index: 1 }), REQUEST);
  assert.equal(decodeIoFdsRequest(hex(REQUEST)), { argsz: 96, flags: 0, index: 1, count: 0 });
});

test('request: non-zero flags or count, short payload, argsz out of range are EINVAL', () => {
  assertMalformed(() => decodeIoFdsRequest(hex('60 00 00 00  01 00 00 00  01 00 00 00  00 00 00 00')), 'flags');
  assertMalformed(() => decodeIoFdsRequest(hex('60 00 00 00  00 00 00 00  01 00 00 00  01 00 00 00')), 'count');
  assertMalformed(() => decodeIoFdsRequest(hex('0f 00 00 00  00 00 00 00  01 00 00 00  00 00 00 00')), 'argsz');
  assertMalformed(() => decodeIoFdsRequest(hex(REQUEST), { maxArgsz: 64 }), 'argsz');
  assertMalformed(() => decodeIoFdsRequest(hex(REQUEST).subarray(0, 12)), 'payload');
});

test('reply: 40-byte spec layout (ioeventfd and ioregionfd)', () => {
  const golden = SPEC_HEADER + SPEC_IOEVENTFD + SPEC_IOREGIONFD;
  assertHex(encodeIoFdsReply({ index: 1, entries: specEntries }), golden);
  assert.equal(decodeIoFdsReply(hex(golden), { request: { argsz: 96, flags: 0, index: 1, count: 0 }, fdCount: 2 }), {
    argsz: 96, flags: 0, index: 1, count: 2, entries: specEntries, truncated: false,
  });
});

test('reply: 48-byte libvfio-user layout with shadow fields', () => {
  const golden = LVU_HEADER + LVU_IOEVENTFD + LVU_SHADOW;
  assertHex(encodeIoFdsReply({ index: 1, entries: lvuEntries }, { stride: 48 }), golden);
  assert.equal(decodeIoFdsReply(hex(golden), { fdCount: 3 }).entries, lvuEntries);
});

test('reply: too small an argsz brings only count and the full argsz', () => {
  const header = '60 00 00 00  00 00 00 00  01 00 00 00  02 00 00 00';
  assertHex(encodeIoFdsReply({ index: 1, entries: specEntries }, { requestArgsz: 16 }), header);
  assert.equal(decodeIoFdsReply(hex(header)), { argsz: 96, flags: 0, index: 1, count: 2, entries: [], truncated: true });
});

test('reply: a stride other than 40 or 48 is rejected', () => {
  const buf = hex(SPEC_HEADER + SPEC_IOEVENTFD + SPEC_IOREGIONFD + '00 00 00 00 00 00 00 00');
  buf[0] = 104;
  assertMalformed(() => decodeIoFdsReply(buf), 'argsz');
});

test('reply: entries missing from the payload, unknown type, SHADOW in the 40-byte layout', () => {
  assertMalformed(() => decodeIoFdsReply(hex(SPEC_HEADER + SPEC_IOEVENTFD)), 'payload');
  const unknown = hex(SPEC_HEADER + SPEC_IOEVENTFD + SPEC_IOREGIONFD);
  unknown[16 + 20] = 5;
  assertMalformed(() => decodeIoFdsReply(unknown), 'type');
  const shadow = hex(SPEC_HEADER + SPEC_IOEVENTFD + SPEC_IOREGIONFD);
  shadow[16 + 20] = 2;
  assertMalformed(() => decodeIoFdsReply(shadow), 'type');
});

test('reply: fd_index must name a received fd; index must echo', () => {
  assertMalformed(() => decodeIoFdsReply(hex(SPEC_HEADER + SPEC_IOEVENTFD + SPEC_IOREGIONFD), { fdCount: 1 }), 'fd_index');
  assertMalformed(() => decodeIoFdsReply(hex(LVU_HEADER + LVU_IOEVENTFD + LVU_SHADOW), { fdCount: 2 }), 'fd_index');
  const request = { argsz: 96, flags: 0, index: 0, count: 0 };
  assertMalformed(() => decodeIoFdsReply(hex(SPEC_HEADER + SPEC_IOEVENTFD + SPEC_IOREGIONFD), { request }), 'index');
});

test('the encoder refuses SHADOW entries in the 40-byte layout', () => {
  assert.throws(() => encodeIoFdsReply({ index: 0, entries: [lvuEntries[1] as IoFdEntry] }), (e: unknown) => e instanceof RangeError);
});

test('reply round-trips in both layouts', () => {
  const base = { offset: arb.u64(), size: arb.u64(), fd_index: arb.u32(), flags: arb.u32() };
  const spec: fc.Arbitrary<IoFdEntry> = fc.oneof(
    rec({ ...base, type: fc.constant(0 as const), datamatch: arb.u64() }),
    rec({ ...base, type: fc.constant(1 as const), user_data: arb.u64() }),
  );
  const lvu: fc.Arbitrary<IoFdEntry> = fc.oneof(
    rec({ ...base, type: fc.constantFrom(0 as const, 2 as const), datamatch: arb.u64(), shadow_mem_fd_index: arb.u32(), shadow_offset: arb.u64() }),
    rec({ ...base, type: fc.constant(1 as const), user_data: arb.u64() }),
  );
  const trip = (entries: IoFdEntry[], stride: 40 | 48) => {
    const reply = decodeIoFdsReply(encodeIoFdsReply({ index: 3, entries }, { stride }));
    assert.equal(reply.entries, entries);
    assert.is(reply.count, entries.length);
  };
  fc.assert(fc.property(fc.array(spec, { maxLength: 6 }), (entries) => trip(entries, 40)));
  fc.assert(fc.property(fc.array(lvu, { maxLength: 6 }), (entries) => trip(entries, 48)));
});

test.run();
