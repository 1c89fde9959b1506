import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { decodeVersion, decodeVersionReply, decodeVersionRequest, encodeVersion, encodeVersionReply } from '../../src/protocol/version.js';
import { arb, assertHex, assertMalformed, hex, rec } from './helpers.js';

// major u16 = 0, minor u16 = 2, then the JSON text and its NUL.
const JSON_TEXT = '{"capabilities":{"max_msg_fds":8}}';
const golden = Buffer.concat([hex('00 00  02 00'), Buffer.from(JSON_TEXT, 'utf8'), hex('00')]);

test('encodes major, minor, JSON and the terminating NUL', () => {
  const buf = encodeVersionReply({ major: 0, minor: 2, json: { capabilities: { max_msg_fds: 8 } } });
  assertHex(buf, golden.toString('hex'));
});

test('decodes the same bytes', () => {
  assert.equal(decodeVersionRequest(golden), { major: 0, minor: 2, json: { capabilities: { max_msg_fds: 8 } } });
});

test('a payload of only the version numbers has no JSON', () => {
  assertHex(encodeVersion({ major: 0, minor: 0 }), '00 00 00 00');
  assert.equal(decodeVersionReply(hex('00 00 01 00')), { major: 0, minor: 1 });
});

test('the NUL is counted: the payload is 4 + text + 1 bytes', () => {
  assert.is(encodeVersion({ major: 0, minor: 0, json: {} }).length, 4 + 2 + 1);
});

test('rejects a payload shorter than the version numbers', () => {
  assertMalformed(() => decodeVersion(hex('00 00 02')), 'payload');
});

test('rejects JSON without the terminating NUL', () => {
  assertMalformed(() => decodeVersion(Buffer.concat([hex('00 00 00 00'), Buffer.from('{}')])), 'json');
});

test('rejects text that is not UTF-8', () => {
  assertMalformed(() => decodeVersion(hex('00 00 00 00  7b 22 ff 22 3a 31 7d 00')), 'json');
});

test('rejects invalid JSON, an empty text and an embedded NUL', () => {
  assertMalformed(() => decodeVersion(Buffer.concat([hex('00 00 00 00'), Buffer.from('{"a":'), hex('00')])), 'json');
  assertMalformed(() => decodeVersion(hex('00 00 00 00 00')), 'json');
  assertMalformed(() => decodeVersion(Buffer.concat([hex('00 00 00 00'), Buffer.from('{}'), hex('00'), Buffer.from('{}'), hex('00')])), 'json');
});

test('rejects JSON of the wrong shape with field json', () => {
  const wrap = (text: string) => Buffer.concat([hex('00 00 00 00'), Buffer.from(text), hex('00')]);
  assertMalformed(() => decodeVersion(wrap('[1,2]')), 'json');
  assertMalformed(() => decodeVersion(wrap('"caps"')), 'json');
  assertMalformed(() => decodeVersion(wrap('{"capabilities":5}')), 'json');
  const err = assertMalformed(() => decodeVersion(wrap('{"capabilities":{"max_data_xfer_size":"1M"}}')), 'json');
  assert.match(err.message, 'capabilities.max_data_xfer_size');
});

test('keeps unknown keys so the caller can warn about them', () => {
  const v = decodeVersion(Buffer.concat([hex('00 00 00 00'), Buffer.from('{"capabilities":{"future":1}}'), hex('00')]));
  assert.equal(v.json, { capabilities: { future: 1 } });
});

test('round-trips version numbers and capability documents', () => {
  const json = fc.option(rec({ capabilities: rec({ max_msg_fds: arb.u32(), write_multiple: fc.boolean() }) }), { nil: undefined });
  fc.assert(
    fc.property(arb.u16(), arb.u16(), json, (major, minor, j) => {
      const v = j === undefined ? { major, minor } : { major, minor, json: j };
      assert.equal(decodeVersion(encodeVersion(v)), v);
    }),
  );
});

test.run();
