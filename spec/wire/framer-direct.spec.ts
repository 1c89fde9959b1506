/** The framer's direct reads: the rest of a large message is read by the socket into the message's own buffer. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { framer } from '../../src/wire/decode-frames.js';
import { framePool } from '../../src/wire/frame-pool.js';
import { encodeHeader } from '../../src/protocol/header.js';
import type { Frame } from '../../src/protocol/frame.js';

const message = (id: number, payloadBytes: number): Buffer => {
  const payload = Buffer.alloc(payloadBytes);
  for (let i = 0; i < payloadBytes; i++) payload[i] = (id * 13 + i) & 0xff;
  return Buffer.concat([encodeHeader({ id, command: 9, size: 16 + payloadBytes, flags: 0, error: 0 }), payload]);
};

/** A framer with a fake socket behind DirectRead: `fill` plays the socket writing into the target. */
const setup = (threshold = 1000) => {
  const frames: Frame[] = [];
  const closed: number[] = [];
  const targets: { buf: Buffer; offset: number }[] = [];
  const f = framer(
    { maxFrameSize: 1 << 20, closeFd: (fd) => closed.push(fd), direct: { threshold, readInto: (buf, offset) => targets.push({ buf, offset }) } },
    (frame) => frames.push(frame),
  );
  const fill = (bytes: Buffer) => {
    const t = targets[targets.length - 1]!;
    bytes.copy(t.buf, t.offset);
    t.offset += bytes.length;
  };
  return { f, frames, closed, targets, fill };
};

test('hands a large message to the socket with the bytes read so far, and emits it once filled', () => {
  const { f, frames, targets, fill } = setup();
  const big = message(1, 5000);
  f.push(big.subarray(0, 300), [7]);
  assert.is(targets.length, 1);
  assert.is(targets[0]!.buf.length, big.length);
  assert.is(targets[0]!.offset, 300);
  assert.ok(targets[0]!.buf.subarray(0, 300).equals(big.subarray(0, 300)));
  fill(big.subarray(300));
  f.push(Buffer.alloc(0), [], true);
  assert.is(frames.length, 1);
  assert.ok(frames[0]!.payload.equals(big.subarray(16)));
  assert.equal([...frames[0]!.fds], [7]);
});

test('bytes after a filled target are framed as usual; their fds go to the message they start', () => {
  const { f, frames, fill } = setup();
  const big = message(2, 4000);
  const next = message(3, 8);
  f.push(big.subarray(0, 100), [1]);
  fill(big.subarray(100));
  f.push(next, [2], true);
  assert.equal(frames.map((x) => [x.header.id, [...x.fds]]), [
    [2, [1]],
    [3, [2]],
  ]);
});

test('fds that come while the socket fills the target belong to that message, and to it the fds of the filling read when nothing follows', () => {
  const { f, frames, fill } = setup();
  const big = message(4, 3000);
  f.push(big.subarray(0, 20), []);
  f.push(Buffer.alloc(0), [5, 6]);
  fill(big.subarray(20));
  f.push(Buffer.alloc(0), [8], true);
  assert.equal([...frames[0]!.fds], [5, 6, 8]);
});

test('a message that starts after whole ones in the same read also goes direct', () => {
  const { f, frames, targets } = setup();
  const small = message(5, 4);
  const big = message(6, 2000);
  f.push(Buffer.concat([small, big.subarray(0, 50)]), []);
  assert.equal(frames.map((x) => x.header.id), [5]);
  assert.is(targets.length, 1);
  assert.is(targets[0]!.offset, 50);
});

test('what is left below the threshold is joined from reads as before', () => {
  const { f, frames, targets } = setup(1000);
  const m = message(7, 1200);
  f.push(m.subarray(0, 400), []);
  assert.is(targets.length, 0, '816 bytes to come: below the threshold');
  f.push(m.subarray(400), []);
  assert.ok(frames[0]!.payload.equals(m.subarray(16)));
});

test('release while the socket fills the target closes the fds held and drops the target', () => {
  const { f, closed, frames } = setup();
  const big = message(9, 3000);
  f.push(big.subarray(0, 20), [11]);
  f.push(Buffer.alloc(0), [12]);
  f.release();
  assert.equal(closed, [11, 12]);
  f.push(message(10, 0), []);
  assert.equal(frames.map((x) => x.header.id), [10], 'the stream starts afresh after release');
});

test('with a pool, a frame released by its consumer lends its buffer to the next large message', () => {
  const pool = framePool();
  const frames: Frame[] = [];
  const targets: Buffer[] = [];
  const f = framer(
    { maxFrameSize: 1 << 20, closeFd: () => undefined, direct: { threshold: 1000, pool, readInto: (buf) => targets.push(buf) } },
    (frame) => frames.push(frame),
  );
  const deliver = (m: Buffer) => {
    f.push(m.subarray(0, 100), []);
    m.copy(targets[targets.length - 1]!, 100, 100);
    f.push(Buffer.alloc(0), [], true);
  };
  deliver(message(20, 5000));
  assert.type(frames[0]!.release, 'function');
  assert.ok(frames[0]!.payload.equals(message(20, 5000).subarray(16)));
  frames[0]!.release!();
  deliver(message(21, 4000));
  assert.is(targets[1]!.buffer, targets[0]!.buffer, 'the second message is read into the buffer of the first');
  assert.ok(frames[1]!.payload.equals(message(21, 4000).subarray(16)));
  deliver(message(22, 4000));
  assert.is.not(targets[2]!.buffer, targets[1]!.buffer, 'a frame not released keeps its buffer');
});

test.run();
