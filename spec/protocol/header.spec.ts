import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { ProtocolError } from '../../src/protocol/errors.js';
import { decodeHeader, encodeHeader, isErrorReply, isNoReply, isReply, writeHeaderFields } from '../../src/protocol/header.js';
import { arb, assertHex, hex, rec } from './helpers.js';

// msg_id 0x1234, cmd 9 (REGION_READ), msg_size 32, flags 0 (command), error 0.
const READ_COMMAND = '34 12  09 00  20 00 00 00  00 00 00 00  00 00 00 00';
// msg_id 0x1234, cmd 9, msg_size 16, flags REPLY|ERROR (0x21), error 22 (EINVAL).
const ERROR_REPLY = '34 12  09 00  10 00 00 00  21 00 00 00  16 00 00 00';

test('encodes a command header in little-endian field order', () => {
  assertHex(encodeHeader({ id: 0x1234, command: 9, size: 32, flags: 0, error: 0 }), READ_COMMAND);
});

test('decodes an error reply header', () => {
  const h = decodeHeader(hex(ERROR_REPLY));
  assert.equal(h, { id: 0x1234, command: 9, size: 16, flags: 0x21, error: 22 });
  assert.ok(isReply(h));
  assert.ok(isErrorReply(h));
  assert.not.ok(isNoReply(h));
});

test('recognises a posted (No_reply) command', () => {
  const h = decodeHeader(hex('01 00  0a 00  21 00 00 00  10 00 00 00  00 00 00 00'));
  assert.ok(isNoReply(h));
  assert.not.ok(isReply(h));
});

test('rejects a short header as a fatal ProtocolError', () => {
  assert.throws(() => decodeHeader(hex('34 12 09 00 20 00 00 00 00 00 00')), (e: unknown) => e instanceof ProtocolError);
});

test('rejects msg_size < 16', () => {
  const err = (() => {
    try {
      decodeHeader(hex('34 12  09 00  0f 00 00 00  00 00 00 00  00 00 00 00'));
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  assert.instance(err, ProtocolError);
  assert.is((err as ProtocolError).field, 'msg_size');
});

test('rejects unknown type bits (2..15)', () => {
  for (const type of [2, 3, 0xf]) {
    const buf = hex(READ_COMMAND);
    buf[8] = type;
    assert.throws(() => decodeHeader(buf), (e: unknown) => e instanceof ProtocolError && e.field === 'flags');
  }
});

test('writeHeaderFields writes the bytes of the checked Buffer writes, in place, and refuses what they refuse', () => {
  const checked = (id: number, command: number, size: number, flags: number, error: number) => {
    const b = Buffer.alloc(20, 0xee);
    b.writeUInt16LE(id & 0xffff, 2);
    b.writeUInt16LE(command, 4);
    b.writeUInt32LE(size, 6);
    b.writeUInt32LE(flags >>> 0, 10);
    b.writeUInt32LE(error >>> 0, 14);
    return b.toString('hex');
  };
  fc.assert(
    fc.property(fc.integer({ min: -1, max: 0x1ffff }), arb.u16(), arb.u32(), fc.integer({ min: -1, max: 0xffffffff }), arb.u32(), (id, command, size, flags, error) => {
      const b = Buffer.alloc(20, 0xee);
      writeHeaderFields(b, 2, id, command, size, flags, error);
      assert.is(b.toString('hex'), checked(id, command, size, flags, error));
    }),
  );
  const b = Buffer.alloc(16);
  assert.throws(() => writeHeaderFields(b, 0, 1, 0x10000, 16, 0, 0), (e: unknown) => e instanceof RangeError);
  assert.throws(() => writeHeaderFields(b, 0, 1, 9, 2 ** 32, 0, 0), (e: unknown) => e instanceof RangeError);
  assert.throws(() => writeHeaderFields(b, 1, 1, 9, 16, 0, 0), (e: unknown) => e instanceof RangeError);
});

test('round-trips every valid header', () => {
  const header = rec({
    id: arb.u16(),
    command: arb.u16(),
    size: fc.integer({ min: 16, max: 0xffffffff }),
    flags: fc.constantFrom(0, 1, 0x10, 0x21),
    error: arb.u32(),
  });
  fc.assert(fc.property(header, (h) => assert.equal(decodeHeader(encodeHeader(h)), h)));
});

test.run();
