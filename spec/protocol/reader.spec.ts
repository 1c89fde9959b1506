import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { expectEmpty, reader, u16At, u32At } from '../../src/protocol/reader.js';
import { putU32, putU64 } from '../../src/protocol/writer.js';
import { assertMalformed, hex } from './helpers.js';

test('reads u16, u32 and u64 little-endian', () => {
  const r = reader('X', hex('01 02  03 04 05 06  07 08 09 0a 0b 0c 0d 00'));
  assert.is(r.u16(0, 'a'), 0x0201);
  assert.is(r.u32(2, 'b'), 0x06050403);
  assert.is(r.u64(6, 'c'), 0x000d0c0b0a0908_07);
});

test('rejects a u64 above 2^53-1 with EOVERFLOW naming the field', () => {
  const err = assertMalformed(() => reader('DMA_MAP', hex('00 00 00 00 00 00 20 00')).u64(0, 'address'), 'address', 75);
  assert.is(err.command, 'DMA_MAP');
});

test('accepts 2^53-1 exactly', () => {
  assert.is(reader('X', hex('ff ff ff ff ff ff 1f 00')).u64(0, 'size'), Number.MAX_SAFE_INTEGER);
});

test('reading past the end fails with field payload', () => {
  assertMalformed(() => reader('X', hex('01 02 03')).u32(0, 'argsz'), 'payload');
  assertMalformed(() => reader('X', hex('01 02 03')).bytes(2, 2, 'data'), 'payload');
});

test('need and exactly check the length', () => {
  assertMalformed(() => reader('X', hex('00')).need(2), 'payload');
  assertMalformed(() => reader('X', hex('00 00 00')).exactly(2), 'payload');
  reader('X', hex('00 00')).exactly(2).need(2);
});

test('fits rejects a reply longer than the request argsz with E2BIG', () => {
  assertMalformed(() => reader('X', hex('00 00 00')).fits(2), 'argsz', 7);
  reader('X', hex('00 00')).fits(2).fits(undefined);
});

test('expectEmpty rejects any payload', () => {
  assertMalformed(() => expectEmpty('DEVICE_RESET', hex('00')), 'payload');
  expectEmpty('DEVICE_RESET', Buffer.alloc(0));
});

test('writers reject values the field cannot hold', () => {
  const buf = Buffer.alloc(8);
  assert.throws(() => putU32(buf, 0, 2 ** 32, 'count'), (e: unknown) => e instanceof RangeError);
  assert.throws(() => putU32(buf, 0, -1, 'count'), (e: unknown) => e instanceof RangeError);
  assert.throws(() => putU64(buf, 0, 2 ** 53, 'address'), (e: unknown) => e instanceof RangeError);
  assert.throws(() => putU64(buf, 0, 1.5, 'address'), (e: unknown) => e instanceof RangeError);
});

test('u16At and u32At read what readUInt16LE and readUInt32LE read', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 4, maxLength: 32 }), fc.nat(), (bytes, n) => {
      const b = Buffer.from(bytes);
      const at = n % (b.length - 3);
      assert.is(u16At(b, at), b.readUInt16LE(at));
      assert.is(u32At(b, at), b.readUInt32LE(at));
    }),
  );
  assert.is(u32At(Buffer.from([0xff, 0xff, 0xff, 0xff]), 0), 0xffffffff);
});

test.run();
