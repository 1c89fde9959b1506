import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { IrqSetFlags } from '../../src/protocol/constants.js';
import {
  decodeIrqInfoReply, decodeIrqInfoRequest, decodeSetIrqsReply, decodeSetIrqsRequest,
  encodeIrqInfoReply, encodeIrqInfoRequest, encodeSetIrqsReply, encodeSetIrqsRequest,
} from '../../src/protocol/irq.js';
import { arb, assertHex, assertMalformed, hex, rec } from './helpers.js';

// argsz 16 | flags 0 | index 2 (MSI-X) | count 0
const INFO_REQUEST = '10 00 00 00  00 00 00 00  02 00 00 00  00 00 00 00';
// argsz 16 | flags EVENTFD|NORESIZE | index 2 | count 4
const INFO_REPLY = '10 00 00 00  09 00 00 00  02 00 00 00  04 00 00 00';
// argsz 20 | flags DATA_EVENTFD|ACTION_TRIGGER | index 2 | start 0 | count 4
const SET_EVENTFD = '14 00 00 00  24 00 00 00  02 00 00 00  00 00 00 00  04 00 00 00';
// argsz 23 | flags DATA_BOOL|ACTION_UNMASK | index 0 | start 0 | count 3 | data 01 00 01
const SET_BOOL = '17 00 00 00  12 00 00 00  00 00 00 00  00 00 00 00  03 00 00 00  01 00 01';
// argsz 20 | flags DATA_NONE|ACTION_TRIGGER | index 1 | start 0 | count 0: disable every MSI vector
const SET_DISABLE = '14 00 00 00  21 00 00 00  01 00 00 00  00 00 00 00  00 00 00 00';

test('IRQ_INFO request: encodes argsz 16 and the index', () => {
  assertHex(encodeIrqInfoRequest({ index: 2 }), INFO_REQUEST);
  assert.equal(decodeIrqInfoRequest(hex(INFO_REQUEST)), { argsz: 16, index: 2 });
});

test('IRQ_INFO request: short or argsz < 16 is EINVAL', () => {
  assertMalformed(() => decodeIrqInfoRequest(hex(INFO_REQUEST).subarray(0, 12)), 'payload');
  assertMalformed(() => decodeIrqInfoRequest(hex('0f 00 00 00  00 00 00 00  02 00 00 00  00 00 00 00')), 'argsz');
});

test('IRQ_INFO reply: encodes and decodes', () => {
  assertHex(encodeIrqInfoReply({ flags: 9, index: 2, count: 4 }), INFO_REPLY);
  assert.equal(decodeIrqInfoReply(hex(INFO_REPLY), { argsz: 16, index: 2 }), { argsz: 16, flags: 9, index: 2, count: 4 });
});

test('IRQ_INFO reply: index must echo the request', () => {
  assertMalformed(() => decodeIrqInfoReply(hex(INFO_REPLY), { argsz: 16, index: 1 }), 'index');
  assertMalformed(() => decodeIrqInfoReply(hex(INFO_REPLY).subarray(0, 8)), 'payload');
});

test('SET_IRQS request: eventfd trigger (fds travel beside the payload)', () => {
  const x = { flags: IrqSetFlags.DATA_EVENTFD | IrqSetFlags.ACTION_TRIGGER, index: 2, start: 0, count: 4 };
  assertHex(encodeSetIrqsRequest(x), SET_EVENTFD);
  assert.equal(decodeSetIrqsRequest(hex(SET_EVENTFD)), { argsz: 20, ...x });
});

test('SET_IRQS request: BOOL carries count bytes and argsz counts them', () => {
  const x = { flags: IrqSetFlags.DATA_BOOL | IrqSetFlags.ACTION_UNMASK, index: 0, start: 0, count: 3, data: hex('01 00 01') };
  assertHex(encodeSetIrqsRequest(x), SET_BOOL);
  assert.equal(decodeSetIrqsRequest(hex(SET_BOOL)), { argsz: 23, ...x });
});

test('SET_IRQS request: NONE|TRIGGER with start = count = 0', () => {
  assertHex(encodeSetIrqsRequest({ flags: 0x21, index: 1, start: 0, count: 0 }), SET_DISABLE);
  assert.equal(decodeSetIrqsRequest(hex(SET_DISABLE)), { argsz: 20, flags: 0x21, index: 1, start: 0, count: 0 });
});

test('SET_IRQS request: flags without exactly one DATA and one ACTION bit are EINVAL', () => {
  for (const flags of [0x20, 0x04, 0x23, 0x2c, 0x64, 0x124]) {
    const buf = hex(SET_EVENTFD);
    buf.writeUInt32LE(flags, 4);
    assertMalformed(() => decodeSetIrqsRequest(buf), 'flags');
  }
});

test('SET_IRQS request: BOOL data length must equal count', () => {
  assertMalformed(() => decodeSetIrqsRequest(hex(SET_BOOL).subarray(0, 22)), 'count');
  assertMalformed(() => decodeSetIrqsRequest(Buffer.concat([hex(SET_BOOL), hex('00')])), 'argsz');
});

test('SET_IRQS request: data without BOOL, short payload, argsz below the payload', () => {
  const withData = hex(`${SET_EVENTFD} 01`);
  withData[0] = 21;
  assertMalformed(() => decodeSetIrqsRequest(withData), 'payload');
  assertMalformed(() => decodeSetIrqsRequest(hex(SET_EVENTFD).subarray(0, 16)), 'payload');
  const small = hex(SET_EVENTFD);
  small[0] = 16;
  assertMalformed(() => decodeSetIrqsRequest(small), 'argsz');
});

test('SET_IRQS request: the encoder refuses what the decoder rejects', () => {
  assert.throws(() => encodeSetIrqsRequest({ flags: 0x22, index: 0, start: 0, count: 2, data: hex('01') }), (e: unknown) => e instanceof RangeError);
  assert.throws(() => encodeSetIrqsRequest({ flags: 0x03, index: 0, start: 0, count: 0 }), (e: unknown) => e instanceof RangeError);
  assert.throws(() => encodeSetIrqsRequest({ flags: 0x24, index: 0, start: 0, count: 1, data: hex('01') }), (e: unknown) => e instanceof RangeError);
});

test('SET_IRQS reply: header only', () => {
  assert.is(encodeSetIrqsReply().length, 0);
  decodeSetIrqsReply(Buffer.alloc(0));
  assertMalformed(() => decodeSetIrqsReply(hex('00')), 'payload');
});

test('IRQ_INFO reply and SET_IRQS request round-trip', () => {
  const info = rec({ argsz: fc.integer({ min: 16, max: 0xffffffff }), flags: arb.u32(), index: arb.u32(), count: arb.u32() });
  fc.assert(fc.property(info, (x) => assert.equal(decodeIrqInfoReply(encodeIrqInfoReply(x)), x)));
  const set = fc
    .record({ data: fc.constantFrom(1, 2, 4), action: fc.constantFrom(8, 16, 32), index: arb.u32(), start: arb.u32(), bools: arb.bytes(32) })
    .map(({ data, action, index, start, bools }) =>
      data === 2
        ? { argsz: 20 + bools.length, flags: data | action, index, start, count: bools.length, data: bools }
        : { argsz: 20, flags: data | action, index, start, count: bools.length });
  fc.assert(fc.property(set, (x) => assert.equal(decodeSetIrqsRequest(encodeSetIrqsRequest(x)), x)));
});

test.run();
