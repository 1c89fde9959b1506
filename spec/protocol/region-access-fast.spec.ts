import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkWriteReply, encodeReadFast, encodeWriteFast, readReplyData } from '../../src/protocol/region-access.js';
import * as p from '../../src/protocol/index.js';

const HIGH = 0x1_2345_6789_ab; // above 2^32: both halves of the u64 matter

test('the fast encoders write what the protocol encoders write', () => {
  const read = { offset: HIGH, region: 3, count: 8 };
  assert.equal([...encodeReadFast(read)], [...p.encodeRegionReadRequest(read)]);
  const data = Buffer.from([1, 2, 3, 4, 5]);
  assert.equal([...encodeWriteFast(HIGH, 2, data)], [...p.encodeRegionWriteRequest({ offset: HIGH, region: 2, data })]);
  assert.equal([...encodeReadFast({ offset: 0, region: 0, count: 0 })], [...p.encodeRegionReadRequest({ offset: 0, region: 0, count: 0 })]);
});

test('an exact read reply gives a view of its data, no copy', () => {
  const request = { offset: HIGH, region: 1, count: 4 };
  const reply = p.encodeRegionReadReply({ offset: HIGH, region: 1, data: Buffer.from([9, 8, 7, 6]) });
  const data = readReplyData(reply, request);
  assert.equal([...data], [9, 8, 7, 6]);
  assert.is(data.buffer, reply.buffer, 'a view of the reply');
});

test('replies that are not the exact echo fail as the protocol decoder says', () => {
  const request = { offset: HIGH, region: 1, count: 4 };
  const wrong = (x: { offset: number; region: number; data: Buffer }) => () => readReplyData(p.encodeRegionReadReply(x), request);
  const field = (f: () => unknown) => {
    try {
      f();
    } catch (err) {
      assert.instance(err, p.MalformedMessageError);
      return (err as p.MalformedMessageError).field;
    }
    throw new Error('no error');
  };
  assert.is(field(wrong({ offset: HIGH + 2 ** 32, region: 1, data: Buffer.alloc(4) })), 'offset');
  assert.is(field(wrong({ offset: HIGH, region: 2, data: Buffer.alloc(4) })), 'region');
  assert.is(field(wrong({ offset: HIGH, region: 1, data: Buffer.alloc(2) })), 'count', 'a short read');
  assert.is(field(() => checkWriteReply(p.encodeRegionWriteReply({ offset: HIGH, region: 1, count: 3 }), request)), 'count');
  assert.is(field(() => checkWriteReply(Buffer.alloc(8), request)), 'payload');
  checkWriteReply(p.encodeRegionWriteReply(request), request);
});

test('a header-only reply to a count-0 read is accepted (libvfio-user)', () => {
  assert.is(readReplyData(Buffer.alloc(0), { offset: 0, region: 0, count: 0 }).length, 0);
});

test.run();
