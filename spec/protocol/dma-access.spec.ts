import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  decodeDmaReadReply, decodeDmaReadRequest, decodeDmaWriteReply, decodeDmaWriteRequest,
  encodeDmaReadReply, encodeDmaReadRequest, encodeDmaWriteReply, encodeDmaWriteRequest,
} from '../../src/protocol/dma-access.js';
import { arb, assertHex, assertMalformed, hex, rec } from './helpers.js';

// address 0x10000000 | count u64 8
const READ_REQUEST = '00 00 00 10 00 00 00 00  08 00 00 00 00 00 00 00';
const READ_REPLY = `${READ_REQUEST}  01 02 03 04 05 06 07 08`;
// address 0x2000 | count 4 | data
const WRITE_REQUEST = '00 20 00 00 00 00 00 00  04 00 00 00 00 00 00 00  aa bb cc dd';
const WRITE_REPLY = '00 20 00 00 00 00 00 00  04 00 00 00 00 00 00 00';
const readReq = { address: 0x1000_0000, count: 8 };
const writeReq = { address: 0x2000, count: 4, data: hex('aa bb cc dd') };

test('DMA_READ request: address and a 64-bit count', () => {
  assertHex(encodeDmaReadRequest(readReq), READ_REQUEST);
  assert.equal(decodeDmaReadRequest(hex(READ_REQUEST)), readReq);
});

test('DMA_READ request: exactly 16 bytes; count above the client limit is E2BIG (as QEMU)', () => {
  assertMalformed(() => decodeDmaReadRequest(hex(READ_REQUEST).subarray(0, 12)), 'payload');
  assertMalformed(() => decodeDmaReadRequest(hex(`${READ_REQUEST} 00`)), 'payload');
  assertMalformed(() => decodeDmaReadRequest(hex(READ_REQUEST), { maxDataXferSize: 4 }), 'count', 7);
});

test('DMA_READ request: a count above 2^53-1 is EOVERFLOW', () => {
  assertMalformed(() => decodeDmaReadRequest(hex('00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 01')), 'count', 75);
});

test('DMA_READ reply: the fields then the data', () => {
  assertHex(encodeDmaReadReply({ address: 0x1000_0000, data: hex('01 02 03 04 05 06 07 08') }), READ_REPLY);
  assert.equal(decodeDmaReadReply(hex(READ_REPLY), readReq), { ...readReq, data: hex('01 02 03 04 05 06 07 08') });
});

test('DMA_READ reply: must echo address and count (as libvfio-user)', () => {
  assertMalformed(() => decodeDmaReadReply(hex(READ_REPLY), { ...readReq, address: 0 }), 'address');
  const shorter = hex('00 00 00 10 00 00 00 00  04 00 00 00 00 00 00 00  01 02 03 04');
  assertMalformed(() => decodeDmaReadReply(shorter, readReq), 'count');
  assertMalformed(() => decodeDmaReadReply(hex(READ_REPLY).subarray(0, 20)), 'count');
  assertMalformed(() => decodeDmaReadReply(hex('00 00')), 'payload');
});

test('DMA_WRITE request: fields then data', () => {
  assertHex(encodeDmaWriteRequest({ address: 0x2000, data: hex('aa bb cc dd') }), WRITE_REQUEST);
  assert.equal(decodeDmaWriteRequest(hex(WRITE_REQUEST)), writeReq);
});

test('DMA_WRITE request: count must match the data; limit gives E2BIG', () => {
  assertMalformed(() => decodeDmaWriteRequest(hex(`${WRITE_REQUEST} ee`)), 'count');
  assertMalformed(() => decodeDmaWriteRequest(hex(WRITE_REQUEST), { maxDataXferSize: 2 }), 'count', 7);
  assertMalformed(() => decodeDmaWriteRequest(hex(WRITE_REQUEST).subarray(0, 8)), 'payload');
});

test('DMA_WRITE reply: 16 bytes {address, count}', () => {
  assertHex(encodeDmaWriteReply({ address: 0x2000, count: 4 }), WRITE_REPLY);
  assert.equal(decodeDmaWriteReply(hex(WRITE_REPLY), writeReq), { address: 0x2000, count: 4 });
  assertMalformed(() => decodeDmaWriteReply(hex(WRITE_REPLY), { ...writeReq, count: 8 }), 'count');
});

test("DMA_WRITE reply: QEMU's header-only reply acknowledges the request", () => {
  assert.equal(decodeDmaWriteReply(Buffer.alloc(0), writeReq), { address: 0x2000, count: 4 });
  assertMalformed(() => decodeDmaWriteReply(Buffer.alloc(0)), 'payload');
  assertMalformed(() => decodeDmaWriteReply(hex('00 20 00 00 00 00 00 00  04 00 00 00')), 'payload');
});

test('DMA accesses round-trip', () => {
  fc.assert(
    fc.property(rec({ address: arb.u64(), data: arb.bytes(64) }), ({ address, data }) => {
      const full = { address, count: data.length, data };
      assert.equal(decodeDmaWriteRequest(encodeDmaWriteRequest({ address, data })), full);
      assert.equal(decodeDmaReadReply(encodeDmaReadReply({ address, data }), full), full);
      const header = { address, count: data.length };
      assert.equal(decodeDmaReadRequest(encodeDmaReadRequest(header)), header);
      assert.equal(decodeDmaWriteReply(encodeDmaWriteReply(header), header), header);
    }),
  );
});

test.run();
