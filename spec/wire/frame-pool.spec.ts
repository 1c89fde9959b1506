/** framePool: buffers of large messages handed back by their consumers and reused. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { framePool } from '../../src/wire/frame-pool.js';

test('takes a buffer of exactly the size asked for', () => {
  const pool = framePool();
  assert.is(pool.take(1000).buffer.length, 1000);
  assert.is(pool.kept, 0);
});

test('a buffer given back serves the next take of its size or less, as a view of the same memory', () => {
  const pool = framePool();
  const first = pool.take(4096);
  first.release();
  assert.is(pool.kept, 1);
  const second = pool.take(1000);
  assert.is(second.buffer.buffer, first.buffer.buffer);
  assert.is(second.buffer.length, 1000);
  assert.is(pool.kept, 0);
});

test('a buffer too small for a take stays kept and a new one is made', () => {
  const pool = framePool();
  const small = pool.take(100);
  small.release();
  const big = pool.take(200);
  assert.is.not(big.buffer.buffer, small.buffer.buffer);
  assert.is(pool.kept, 1);
});

test('releasing twice gives the buffer back once', () => {
  const pool = framePool(4);
  const t = pool.take(64);
  t.release();
  t.release();
  assert.is(pool.kept, 1);
});

test('keeps at most `keep` buffers', () => {
  const pool = framePool(2);
  const taken = [pool.take(10), pool.take(10), pool.take(10)];
  taken.forEach((t) => t.release());
  assert.is(pool.kept, 2);
});

test.run();
