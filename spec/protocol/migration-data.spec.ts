import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  decodeMigDataReadReply, decodeMigDataReadRequest, decodeMigDataWriteReply, decodeMigDataWriteRequest,
  encodeMigDataReadReply, encodeMigDataReadRequest, encodeMigDataWriteReply, encodeMigDataWriteRequest,
} from '../../src/protocol/migration-data.js';
import { arb, assertHex, assertMalformed, hex } from './helpers.js';

// argsz 0x1008 = 8 + 4096 | size 4096
const READ_REQUEST = '08 10 00 00  00 10 00 00';
// argsz 11 = 8 + 3 | size 3 | data
const READ_REPLY = '0b 00 00 00  03 00 00 00  aa bb cc';
// libvfio-user pads the payload to 8 + requested size (8 here); size still says 3
const READ_REPLY_PADDED = '0b 00 00 00  03 00 00 00  aa bb cc 00 00 00 00 00';
// argsz 12 | size 4 | data
const WRITE_REQUEST = '0c 00 00 00  04 00 00 00  de ad be ef';

test('MIG_DATA_READ request: argsz defaults to 8 + size', () => {
  assertHex(encodeMigDataReadRequest({ size: 4096 }), READ_REQUEST);
  assert.equal(decodeMigDataReadRequest(hex(READ_REQUEST)), { argsz: 4104, size: 4096 });
});

test('MIG_DATA_READ request: argsz < 8 + size is EINVAL, size above the limit E2BIG', () => {
  assertMalformed(() => decodeMigDataReadRequest(hex('08 00 00 00  00 10 00 00')), 'argsz');
  assertMalformed(() => decodeMigDataReadRequest(hex(READ_REQUEST), { maxDataXferSize: 1024 }), 'size', 7);
  assertMalformed(() => decodeMigDataReadRequest(hex('08 10 00 00')), 'payload');
});

test('MIG_DATA_READ reply: argsz, size, data', () => {
  assertHex(encodeMigDataReadReply({ data: hex('aa bb cc') }), READ_REPLY);
  assert.equal(decodeMigDataReadReply(hex(READ_REPLY), { argsz: 4104, size: 4096 }), { argsz: 11, size: 3, data: hex('aa bb cc') });
});

test('MIG_DATA_READ reply: padTo pads the payload to 8 + the requested size with zeros, as libvfio-user sends it', () => {
  assertHex(encodeMigDataReadReply({ data: hex('aa bb cc'), padTo: 8 }), READ_REPLY_PADDED);
  assertHex(encodeMigDataReadReply({ data: hex('aa bb cc'), padTo: 2 }), READ_REPLY);
});

test('MIG_DATA_READ reply: a padded payload is trimmed to size', () => {
  assert.equal(decodeMigDataReadReply(hex(READ_REPLY_PADDED), { argsz: 16, size: 8 }), { argsz: 11, size: 3, data: hex('aa bb cc') });
});

test('MIG_DATA_READ reply: size beyond the payload or the request', () => {
  assertMalformed(() => decodeMigDataReadReply(hex(READ_REPLY).subarray(0, 10)), 'size');
  assertMalformed(() => decodeMigDataReadReply(hex(READ_REPLY), { argsz: 16, size: 2 }), 'size', 7);
  assertMalformed(() => decodeMigDataReadReply(hex(READ_REPLY_PADDED), { argsz: 12, size: 4 }), 'argsz', 7);
  assertMalformed(() => decodeMigDataReadReply(hex('0b 00 00 00')), 'payload');
});

test('MIG_DATA_WRITE request: argsz, size, data', () => {
  assertHex(encodeMigDataWriteRequest({ data: hex('de ad be ef') }), WRITE_REQUEST);
  assert.equal(decodeMigDataWriteRequest(hex(WRITE_REQUEST)), { argsz: 12, size: 4, data: hex('de ad be ef') });
});

test('MIG_DATA_WRITE request: short data, small argsz, size above the limit', () => {
  assertMalformed(() => decodeMigDataWriteRequest(hex(WRITE_REQUEST).subarray(0, 10)), 'size');
  assertMalformed(() => decodeMigDataWriteRequest(hex('08 00 00 00  04 00 00 00  de ad be ef')), 'argsz');
  assertMalformed(() => decodeMigDataWriteRequest(hex(WRITE_REQUEST), { maxDataXferSize: 2 }), 'size', 7);
  assertMalformed(() => decodeMigDataWriteRequest(hex('0c 00 00')), 'payload');
});

test('MIG_DATA_WRITE reply: header only', () => {
  assert.is(encodeMigDataWriteReply().length, 0);
  decodeMigDataWriteReply(Buffer.alloc(0));
  assertMalformed(() => decodeMigDataWriteReply(hex('08 00 00 00 00 00 00 00')), 'payload');
});

test('migration data round-trips', () => {
  fc.assert(
    fc.property(arb.bytes(256), fc.nat(64), (data, extra) => {
      const read = { argsz: 8 + data.length + extra, size: data.length };
      assert.equal(decodeMigDataReadRequest(encodeMigDataReadRequest(read)), read);
      assert.equal(decodeMigDataReadReply(encodeMigDataReadReply({ data }), read), { argsz: 8 + data.length, size: data.length, data });
      const write = { argsz: 8 + data.length + extra, size: data.length, data };
      assert.equal(decodeMigDataWriteRequest(encodeMigDataWriteRequest({ argsz: write.argsz, data })), write);
    }),
  );
});

test.run();
