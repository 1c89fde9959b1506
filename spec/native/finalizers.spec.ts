/** Safety nets: a dropped channel closes its fd, a dropped mapping is unmapped, once collected. */
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { native } from '../../src/native/index.js';
import { openFds, stillOpen } from '../fixtures/fds.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Collects garbage until `done()` holds (Node runs native finalizers on a later turn of the loop). */
const collectUntil = async (done: () => boolean): Promise<boolean> => {
  for (let round = 0; round < 20 && !done(); round++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return done();
};

const mapped = (name: string): boolean => readFileSync('/proc/self/maps', 'utf8').includes(`/memfd:${name}`);

test('a channel dropped without close() closes its socket when collected', async () => {
  const [a, b] = native.socketpair();
  const before = openFds();
  (() => void native.channelFromFd(a!))();
  assert.ok(await collectUntil(() => !stillOpen(before, a!)));
  native.close(b!);
});

test('a mapping dropped without munmap() is unmapped when collected', async () => {
  const fd = native.memfd('finalizer-probe', 4096);
  (() => void new Uint8Array(native.mmap(fd, 0, 4096, 'rw')).fill(1))();
  native.close(fd);
  assert.ok(mapped('finalizer-probe'));
  assert.ok(await collectUntil(() => !mapped('finalizer-probe')));
});

test('munmap() then collection does not unmap twice', async () => {
  const fd = native.memfd('double-probe', 4096);
  (() => native.munmap(native.mmap(fd, 0, 4096, 'r')))();
  assert.not.ok(mapped('double-probe'));
  // A new mapping may reuse the address; the old finalizer must leave it alone.
  const again = native.mmap(fd, 0, 4096, 'r');
  await collectUntil(() => false);
  assert.ok(mapped('double-probe'));
  assert.is(new Uint8Array(again)[0], 0);
  native.munmap(again);
  native.close(fd);
});

test.run();
