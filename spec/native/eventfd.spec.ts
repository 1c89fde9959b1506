/** eventfd counters and readable-fd watchers. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NativeError } from '../../src/protocol/errors.js';
import { native } from '../../src/native/index.js';

const EEXIST = 17;

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('writes add to the counter and a read returns and resets it', () => {
  const fd = native.eventfd(3);
  assert.is(native.eventfdRead(fd), 3n);
  native.eventfdWrite(fd, 2n);
  native.eventfdWrite(fd);
  assert.is(native.eventfdRead(fd), 3n);
  assert.is(native.eventfdRead(fd), 0n, 'an empty counter reads as 0n');
  native.eventfdWrite(fd, 0xffff_ffff_ffffn);
  assert.is(native.eventfdRead(fd), 0xffff_ffff_ffffn);
  native.close(fd);
});

test('watchReadable fires on each write and stays quiet after stop()', async () => {
  const fd = native.eventfd();
  const values: bigint[] = [];
  let wake: (() => void) | undefined;
  const watcher = native.watchReadable(fd, () => {
    values.push(native.eventfdRead(fd));
    wake?.();
  });
  const fired = (): Promise<void> => new Promise((resolve) => (wake = resolve));
  native.eventfdWrite(fd, 5n);
  await fired();
  native.eventfdWrite(fd, 7n);
  await fired();
  assert.equal(values, [5n, 7n]);

  watcher.stop();
  watcher.stop();
  // A second eventfd, written together with the stopped one, proves a poll round has happened.
  const other = native.eventfd();
  const otherFired = new Promise<void>((resolve) => {
    const w = native.watchReadable(other, () => {
      native.eventfdRead(other);
      w.stop();
      resolve();
    });
  });
  native.eventfdWrite(fd, 1n);
  native.eventfdWrite(other, 1n);
  await otherFired;
  await turn();
  assert.equal(values, [5n, 7n]);
  native.close(fd);
  native.close(other);
});

test('watching the same fd twice throws EEXIST', () => {
  const fd = native.eventfd();
  const watcher = native.watchReadable(fd, () => native.eventfdRead(fd));
  const isEexist = (e: unknown): boolean => e instanceof NativeError && e.errno === EEXIST;
  assert.throws(() => native.watchReadable(fd, () => {}), isEexist);
  watcher.stop();
  native.close(fd);
});

test.run();
