import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  decodeDeviceInfoReply, decodeDeviceInfoRequest, encodeDeviceInfoReply, encodeDeviceInfoRequest,
} from '../../src/protocol/device-info.js';
import { arb, assertHex, assertMalformed, hex, rec } from './helpers.js';

// argsz 16, flags/num_regions/num_irqs 0
const REQUEST = '10 00 00 00  00 00 00 00  00 00 00 00  00 00 00 00';
// argsz 16 | flags RESET|PCI | num_regions 9 | num_irqs 5
const REPLY = '10 00 00 00  03 00 00 00  09 00 00 00  05 00 00 00';
const info = { argsz: 16, flags: 3, num_regions: 9, num_irqs: 5 };

test('request: encodes argsz 16 and zeroes', () => {
  assertHex(encodeDeviceInfoRequest(), REQUEST);
  assert.equal(decodeDeviceInfoRequest(hex(REQUEST)), { argsz: 16 });
});

test('request: a larger argsz is kept', () => {
  assert.equal(decodeDeviceInfoRequest(encodeDeviceInfoRequest({ argsz: 64 })), { argsz: 64 });
});

test('request: short payload and argsz < 16 are EINVAL', () => {
  assertMalformed(() => decodeDeviceInfoRequest(hex('10 00 00 00')), 'payload');
  assertMalformed(() => decodeDeviceInfoRequest(hex('08 00 00 00  00 00 00 00  00 00 00 00  00 00 00 00')), 'argsz');
});

test('reply: encodes and decodes the PCI answer', () => {
  const { argsz: _argsz, ...rest } = info;
  assertHex(encodeDeviceInfoReply(rest), REPLY);
  assert.equal(decodeDeviceInfoReply(hex(REPLY), { argsz: 16 }), info);
});

test('reply: short, argsz < 16, or longer than the request argsz', () => {
  assertMalformed(() => decodeDeviceInfoReply(hex(REPLY).subarray(0, 12)), 'payload');
  assertMalformed(() => decodeDeviceInfoReply(hex('0c 00 00 00  03 00 00 00  09 00 00 00  05 00 00 00')), 'argsz');
  assertMalformed(() => decodeDeviceInfoReply(Buffer.concat([hex(REPLY), hex('00 00 00 00')]), { argsz: 16 }), 'argsz', 7);
});

test('reply round-trips', () => {
  const arbInfo = rec({ argsz: fc.integer({ min: 16, max: 0xffffffff }), flags: arb.u32(), num_regions: arb.u32(), num_irqs: arb.u32() });
  fc.assert(fc.property(arbInfo, (x) => assert.equal(decodeDeviceInfoReply(encodeDeviceInfoReply(x)), x)));
});

test.run();
