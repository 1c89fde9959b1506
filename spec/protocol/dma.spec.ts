import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  decodeDmaMapReply, decodeDmaMapRequest, decodeDmaUnmapReply, decodeDmaUnmapRequest,
  encodeDmaMapReply, encodeDmaMapRequest, encodeDmaUnmapReply, encodeDmaUnmapRequest,
} from '../../src/protocol/dma.js';
import { encodeHeader } from '../../src/protocol/header.js';
import { arb, assertHex, assertMalformed, hex, rec } from './helpers.js';

// argsz 32 | flags READ|WRITE | offset 0x1000 | address 4 GiB | size 1 GiB
const MAP = '20 00 00 00  03 00 00 00  00 10 00 00 00 00 00 00  00 00 00 00 01 00 00 00  00 00 00 40 00 00 00 00';
const map = { argsz: 32, flags: 3, offset: 0x1000, address: 0x1_0000_0000, size: 0x4000_0000 };
// argsz 24 | flags 0 | address 4 GiB | size 1 GiB
const UNMAP = '18 00 00 00  00 00 00 00  00 00 00 00 01 00 00 00  00 00 00 40 00 00 00 00';
const unmap = { argsz: 24, flags: 0, address: 0x1_0000_0000, size: 0x4000_0000 };
// legacy GET_DIRTY_BITMAP: argsz 48 | flags 1 | address 0 | size 256 KiB | pgsize 4096 | bitmap size 8
const UNMAP_BITMAP =
  '30 00 00 00  01 00 00 00  00 00 00 00 00 00 00 00  00 00 04 00 00 00 00 00  00 10 00 00 00 00 00 00  08 00 00 00 00 00 00 00';

test('DMA_MAP request: encodes the 32-byte struct, argsz defaulting to 32', () => {
  const { argsz: _argsz, ...rest } = map;
  assertHex(encodeDmaMapRequest(rest), MAP);
});

test('DMA_MAP request: a whole message is header (msg_size 48) + payload', () => {
  const payload = encodeDmaMapRequest(map);
  const frame = Buffer.concat([encodeHeader({ id: 7, command: 2, size: 16 + payload.length, flags: 0, error: 0 }), payload]);
  assertHex(frame, `07 00 02 00 30 00 00 00 00 00 00 00 00 00 00 00 ${MAP}`);
});

test('DMA_MAP request: decodes the golden bytes', () => {
  assert.equal(decodeDmaMapRequest(hex(MAP)), map);
});

test('DMA_MAP request: rejects a short payload and argsz < 32', () => {
  assertMalformed(() => decodeDmaMapRequest(hex(MAP).subarray(0, 31)), 'payload');
  const buf = hex(MAP);
  buf[0] = 24;
  assertMalformed(() => decodeDmaMapRequest(buf), 'argsz');
});

test('DMA_MAP request: rejects unknown flag bits and both access modes', () => {
  const buf = hex(MAP);
  buf[4] = 0x13;
  assertMalformed(() => decodeDmaMapRequest(buf), 'flags');
  buf[4] = 0x0f;
  assertMalformed(() => decodeDmaMapRequest(buf), 'flags');
  buf[4] = 0x07;
  assert.is(decodeDmaMapRequest(buf).flags, 7);
});

test('DMA_MAP request: an address above 2^53-1 fails with EOVERFLOW', () => {
  const buf = hex(MAP);
  buf[23] = 0x80;
  assertMalformed(() => decodeDmaMapRequest(buf), 'address', 75);
});

test('DMA_MAP reply: header only', () => {
  assert.is(encodeDmaMapReply().length, 0);
  decodeDmaMapReply(Buffer.alloc(0));
  assertMalformed(() => decodeDmaMapReply(hex('00')), 'payload');
});

test('DMA_UNMAP request: encodes and decodes the 24-byte struct', () => {
  const { argsz: _argsz, ...rest } = unmap;
  assertHex(encodeDmaUnmapRequest(rest), UNMAP);
  assert.equal(decodeDmaUnmapRequest(hex(UNMAP)), unmap);
});

test('DMA_UNMAP request: ALL with address and size 0', () => {
  const all = '18 00 00 00  02 00 00 00  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00';
  assertHex(encodeDmaUnmapRequest({ flags: 2, address: 0, size: 0 }), all);
  assert.equal(decodeDmaUnmapRequest(hex(all)), { argsz: 24, flags: 2, address: 0, size: 0 });
});

test('DMA_UNMAP request: ALL with a non-zero range is EINVAL', () => {
  const buf = hex(UNMAP);
  buf[4] = 2;
  assertMalformed(() => decodeDmaUnmapRequest(buf), 'address');
});

test('DMA_UNMAP request: unknown flags and argsz < 24 are rejected', () => {
  const buf = hex(UNMAP);
  buf[4] = 4;
  assertMalformed(() => decodeDmaUnmapRequest(buf), 'flags');
  buf[4] = 3;
  assertMalformed(() => decodeDmaUnmapRequest(buf), 'flags');
  const small = hex(UNMAP);
  small[0] = 16;
  assertMalformed(() => decodeDmaUnmapRequest(small), 'argsz');
  assertMalformed(() => decodeDmaUnmapRequest(hex(UNMAP).subarray(0, 20)), 'payload');
});

test('DMA_UNMAP request: legacy GET_DIRTY_BITMAP header, argsz covering the bitmap', () => {
  const req = { flags: 1, address: 0, size: 0x40000, bitmap: { pgsize: 4096, size: 8 } };
  assertHex(encodeDmaUnmapRequest(req), UNMAP_BITMAP);
  assert.equal(decodeDmaUnmapRequest(hex(UNMAP_BITMAP)), { argsz: 48, ...req });
  assertMalformed(() => decodeDmaUnmapRequest(hex(UNMAP_BITMAP).subarray(0, 32)), 'payload');
  const small = hex(UNMAP_BITMAP);
  small[0] = 40;
  assertMalformed(() => decodeDmaUnmapRequest(small), 'argsz');
});

test('DMA_UNMAP reply: echoes the request struct', () => {
  assertHex(encodeDmaUnmapReply(unmap), UNMAP);
  assert.equal(decodeDmaUnmapReply(hex(UNMAP), unmap), unmap);
});

test('DMA_UNMAP reply: legacy form carries the bitmap bytes', () => {
  const bits = 'ff 00 00 00 00 00 00 80';
  const reply = { argsz: 48, flags: 1, address: 0, size: 0x40000, bitmap: { pgsize: 4096, size: 8, data: hex(bits) } };
  assertHex(encodeDmaUnmapReply(reply), `${UNMAP_BITMAP} ${bits}`);
  assert.equal(decodeDmaUnmapReply(hex(`${UNMAP_BITMAP} ${bits}`)), reply);
  assertMalformed(() => decodeDmaUnmapReply(hex(`${UNMAP_BITMAP} ff`)), 'payload');
});

test('DMA_UNMAP reply: must echo address, size and flags of the request', () => {
  assertMalformed(() => decodeDmaUnmapReply(hex(UNMAP), { ...unmap, address: 0 }), 'address');
  assertMalformed(() => decodeDmaUnmapReply(hex(UNMAP), { ...unmap, size: 1 }), 'size');
  assertMalformed(() => decodeDmaUnmapReply(hex(UNMAP), { ...unmap, flags: 2 }), 'flags');
  assertMalformed(() => decodeDmaUnmapReply(hex(UNMAP).subarray(0, 23)), 'payload');
});

test('DMA_UNMAP reply: longer than the request argsz is E2BIG', () => {
  assertMalformed(() => decodeDmaUnmapReply(Buffer.concat([hex(UNMAP), hex('00')]), unmap), 'argsz', 7);
});

test('DMA_MAP request round-trips', () => {
  const arbMap = rec({ argsz: fc.integer({ min: 32, max: 0xffffffff }), flags: fc.constantFrom(0, 1, 2, 3, 7, 11), offset: arb.u64(), address: arb.u64(), size: arb.u64() });
  fc.assert(fc.property(arbMap, (x) => assert.equal(decodeDmaMapRequest(encodeDmaMapRequest(x)), x)));
});

test('DMA_UNMAP request and reply round-trip', () => {
  const arbUnmap = rec({ argsz: fc.integer({ min: 24, max: 0xffffffff }), flags: fc.constant(0), address: arb.u64(), size: arb.u64() });
  fc.assert(
    fc.property(arbUnmap, (x) => {
      assert.equal(decodeDmaUnmapRequest(encodeDmaUnmapRequest(x)), x);
      assert.equal(decodeDmaUnmapReply(encodeDmaUnmapReply(x), x), x);
    }),
  );
});

test.run();
