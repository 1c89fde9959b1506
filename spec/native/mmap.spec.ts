/** memfd, fileSize, mmap at any offset, munmap, dup and close. */
import { constants } from 'node:buffer';
import { spawnSync } from 'node:child_process';
import { ftruncateSync, readFileSync, readSync, writeSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NativeError } from '../../src/protocol/errors.js';
import { addon } from '../../src/native/addon.js';
import { native } from '../../src/native/index.js';

const EBADF = 9;
const EINVAL = 22;
const GiB = 1024 ** 3;

const pread = (fd: number, length: number, position: number | bigint): string => {
  const buf = Buffer.alloc(length);
  readSync(fd, buf, 0, length, position);
  return buf.toString();
};

test('memfd has the requested size', () => {
  const fd = native.memfd('sized', 12345);
  assert.is(native.fileSize(fd), 12345);
  native.close(fd);
});

test('a shared mapping is the file: writes show through the fd and another mapping', () => {
  const fd = native.memfd('rw', 2 * 4096);
  const a = native.mmap(fd, 0, 2 * 4096, 'rw');
  const b = native.mmap(fd, 0, 2 * 4096, 'r');
  Buffer.from(a).write('through mapping a', 4000);
  assert.is(pread(fd, 17, 4000), 'through mapping a');
  assert.is(Buffer.from(b, 4000, 17).toString(), 'through mapping a');
  writeSync(fd, 'through the fd', 10);
  assert.is(Buffer.from(a, 10, 14).toString(), 'through the fd');
  native.munmap(a);
  native.munmap(b);
  native.close(fd);
});

test('maps at an unaligned offset', () => {
  const fd = native.memfd('unaligned', 3 * 4096);
  writeSync(fd, 'unaligned data', 4096 + 123);
  const map = native.mmap(fd, 4096 + 123, 14, 'r');
  assert.is(map.byteLength, 14);
  assert.is(Buffer.from(map).toString(), 'unaligned data');
  native.munmap(map);
  native.close(fd);
});

test('maps above 4 GiB with a bigint or a number offset (sparse 5 GiB memfd)', () => {
  const fd = native.memfd('big', 5 * GiB + 8192);
  const offset = 5 * GiB + 100;
  const w = native.mmap(fd, BigInt(offset), 64, 'rw');
  Buffer.from(w).write('above four gigabytes');
  assert.is(pread(fd, 20, BigInt(offset)), 'above four gigabytes');
  const r = native.mmap(fd, offset, 20, 'r');
  assert.is(Buffer.from(r).toString(), 'above four gigabytes');
  // Nothing landed at the 32-bit truncation of the offset.
  assert.is(pread(fd, 20, offset % 2 ** 32), '\0'.repeat(20));
  native.munmap(w);
  native.munmap(r);
  native.close(fd);
});

test('munmap detaches the buffer (every view drops to 0) and is idempotent', () => {
  const fd = native.memfd('unmap', 4096);
  const map = native.mmap(fd, 0, 4096, 'rw');
  const view = new Uint8Array(map, 8);
  view[0] = 1;
  native.munmap(map);
  assert.is(map.byteLength, 0);
  assert.is(view.length, 0);
  native.munmap(map);
  assert.throws(() => native.munmap(new ArrayBuffer(8)), (e: unknown) => e instanceof TypeError);
  native.close(fd);
});

test('mmap errors are NativeErrors', () => {
  const fd = native.memfd('errors', 4096);
  assert.throws(() => native.mmap(fd, 0, 0, 'r'), (e: unknown) => e instanceof NativeError && e.errno === EINVAL);
  native.close(fd);
  assert.throws(() => native.mmap(fd, 0, 4096, 'r'), (e: unknown) => e instanceof NativeError && e.errno === EBADF);
});

test('a mapping longer than the largest Node buffer throws and leaves nothing mapped', () => {
  const fd = native.memfd('too-long', constants.MAX_LENGTH + 8192);
  const mapped = (): boolean => readFileSync('/proc/self/maps', 'utf8').includes('/memfd:too-long');
  assert.throws(() => native.mmap(fd, 0, constants.MAX_LENGTH + 1, 'r'), (e: unknown) => e instanceof RangeError);
  // The addon itself, past the facade's check: Node refuses the ArrayBuffer and the addon cleans up.
  assert.throws(() => addon.mmap(fd, 0, constants.MAX_LENGTH + 1, 'r'));
  assert.not.ok(mapped());
  native.close(fd);
});

test('dup shares the file; close ignores EBADF', () => {
  const fd = native.memfd('dup', 0, { sealed: false }); // grows when written through its copy
  const copy = native.dup(fd);
  assert.is.not(copy, fd);
  writeSync(copy, 'shared', 0);
  assert.is(pread(fd, 6, 0), 'shared');
  native.close(fd);
  native.close(copy);
  native.close(copy);
});

test('our memfds are sealed: a peer holding the fd can neither shrink nor grow them, nor seal them further', () => {
  const fd = native.memfd('sealed', 0x2000);
  assert.throws(() => ftruncateSync(fd, 0x1000), /EPERM|not permitted/);
  assert.throws(() => ftruncateSync(fd, 0x4000), /EPERM|not permitted/);
  assert.is(native.fileSize(fd), 0x2000);
  const ab = native.mmap(fd, 0, 0x2000, 'rw');
  Buffer.from(ab).fill(1);
  native.munmap(ab);
  native.close(fd);
  const open = native.memfd('unsealed', 0x2000, { sealed: false });
  ftruncateSync(open, 0x1000);
  assert.is(native.fileSize(open), 0x1000);
  native.close(open);
});

test('a file shrunk under a mapping: the access past the end reads zeros and counts one fault, the process lives on', () => {
  const fd = native.memfd('shrinks', 0x3000, { sealed: false });
  const ab = native.mmap(fd, 0, 0x3000, 'rw');
  const view = Buffer.from(ab);
  view.fill(7);
  ftruncateSync(fd, 0x1000);
  const before = native.mappingFaults();
  assert.is(view[0x10], 7, 'below the new end: the file');
  assert.is(native.mappingFaults(), before);
  assert.is(view[0x1800], 0, 'past the new end: a zero page');
  assert.is(native.mappingFaults(), before + 1);
  view[0x1801] = 9;
  assert.is(view[0x1801], 9, 'the page is ours now: no second fault');
  assert.is(native.mappingFaults(), before + 1);
  view.writeUInt32LE(1, 0x2800);
  assert.is(native.mappingFaults(), before + 2, 'another page past the end faults once too');
  native.munmap(ab);
  native.close(fd);
});

test('a SIGBUS that is not a fault in our mappings keeps its usual effect (the process dies of it)', () => {
  const script = `import('${new URL('../../src/native/index.ts', import.meta.url).href}').then(() => process.kill(process.pid, 'SIGBUS'))`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8' });
  assert.is(r.signal, 'SIGBUS', r.stderr);
});

test.run();
