import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openSync, closeSync, writeSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describeFd, native } from '../../src/native/index.js';

const test = suite('describeFd');

test('tells a memfd (with its name and size), an eventfd, a socket and a file apart', () => {
  const memfd = native.memfd('guest-ram', 0x3000);
  const eventfd = native.eventfd();
  const [a, b] = native.socketpair();
  const dir = mkdtempSync(path.join(tmpdir(), 'vfio-user-fd-'));
  const file = openSync(path.join(dir, 'f'), 'w');
  writeSync(file, Buffer.alloc(10));
  try {
    assert.equal(describeFd(memfd), { kind: 'memfd', name: 'guest-ram', size: 0x3000 });
    assert.equal(describeFd(eventfd), { kind: 'eventfd' });
    assert.equal(describeFd(a), { kind: 'socket' });
    assert.equal(describeFd(file), { kind: 'file', path: path.join(dir, 'f'), size: 10 });
  } finally {
    [memfd, eventfd, a, b].forEach(native.close);
    closeSync(file);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a closed fd is described, not thrown', () => {
  const fd = native.eventfd();
  native.close(fd);
  const info = describeFd(fd);
  assert.is(info.kind, 'other');
});

test.run();
