import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  decodeDeviceResetReply, decodeDeviceResetRequest, encodeDeviceResetReply, encodeDeviceResetRequest,
} from '../../src/protocol/reset.js';
import { encodeHeader } from '../../src/protocol/header.js';
import { assertHex, assertMalformed, hex } from './helpers.js';

test('request and reply have no payload: the message is the 16-byte header', () => {
  const payload = encodeDeviceResetRequest();
  assert.is(payload.length, 0);
  assertHex(encodeHeader({ id: 3, command: 13, size: 16, flags: 0, error: 0 }), '03 00 0d 00 10 00 00 00 00 00 00 00 00 00 00 00');
  assert.is(encodeDeviceResetReply().length, 0);
});

test('decoders accept an empty payload', () => {
  decodeDeviceResetRequest(Buffer.alloc(0));
  decodeDeviceResetReply(Buffer.alloc(0));
});

test('decoders reject any payload byte', () => {
  assertMalformed(() => decodeDeviceResetRequest(hex('00')), 'payload');
  assertMalformed(() => decodeDeviceResetReply(hex('00 00 00 00')), 'payload');
});

test.run();
