import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { native } from '../../src/native/index.js';
import { ClosedError } from '../../src/protocol/errors.js';
import { guestMemory, type MemoryChange } from '../../src/streams/memory.js';
import { fdsOpenedSince, openFds } from '../fixtures/fds.js';

const names = (changes: MemoryChange[]) =>
  changes.map((c) => (c.type === 'add' || c.type === 'remove' ? `${c.type}@${c.section.iova.toString(16)}` : c.type));
const record = (memory: ReturnType<typeof guestMemory>) => {
  const seen: MemoryChange[] = [];
  const sub = memory.changes$.subscribe((c) => seen.push(c));
  return { seen, sub };
};

test('a section is a memfd with a local shared mapping the owner writes into', () => {
  const memory = guestMemory();
  const ram = memory.add({ iova: 0x10000, size: 0x2000 });
  assert.is(ram.buffer.length, 0x2000);
  ram.buffer.write('hello', 0x100);
  const view = native.mmap(ram.fd, 0, 0x2000, 'r');
  assert.is(Buffer.from(view).toString('utf8', 0x100, 0x105), 'hello', 'the memfd holds what the buffer wrote');
  native.munmap(view);
  assert.is(native.fileSize(ram.fd), 0x2000);
  memory.close();
});

test('each change outside a transaction is its own begin ... commit', () => {
  const memory = guestMemory();
  const { seen, sub } = record(memory);
  const a = memory.add({ iova: 0, size: 0x1000 });
  memory.remove(a);
  assert.equal(names(seen), ['begin', 'add@0', 'commit', 'begin', 'remove@0', 'commit']);
  sub.unsubscribe();
  memory.close();
});

test('transaction() groups changes, and nested transactions join the outer one', () => {
  const memory = guestMemory();
  const { seen, sub } = record(memory);
  memory.transaction(() => {
    memory.add({ iova: 0, size: 0x1000 });
    memory.transaction(() => memory.add({ iova: 0x1000, size: 0x1000 }));
  });
  assert.equal(names(seen), ['begin', 'add@0', 'add@1000', 'commit']);
  sub.unsubscribe();
  memory.close();
});

test('a new subscriber first gets the present sections as one transaction', () => {
  const memory = guestMemory();
  memory.add({ iova: 0x2000, size: 0x1000 });
  memory.add({ iova: 0, size: 0x1000 });
  const { seen, sub } = record(memory);
  memory.add({ iova: 0x4000, size: 0x1000 });
  assert.equal(names(seen), ['begin', 'add@0', 'add@2000', 'commit', 'begin', 'add@4000', 'commit']);
  sub.unsubscribe();
  memory.close();
});

test('a subscriber arriving inside a transaction starts at its commit with the result', () => {
  const memory = guestMemory();
  let late: ReturnType<typeof record> | undefined;
  memory.transaction(() => {
    memory.add({ iova: 0, size: 0x1000 });
    late = record(memory);
    memory.add({ iova: 0x1000, size: 0x1000 });
  });
  assert.equal(names(late!.seen), ['begin', 'add@0', 'add@1000', 'commit']);
  late!.sub.unsubscribe();
  memory.close();
});

test('a removed section is released only after its commit was published', () => {
  const memory = guestMemory();
  const a = memory.add({ iova: 0, size: 0x1000 });
  const lengths: number[] = [];
  const sub = memory.changes$.subscribe((c) => {
    if (c.type !== 'begin') lengths.push(a.buffer.length);
  });
  memory.transaction(() => memory.remove(a));
  assert.equal(lengths, [0x1000, 0x1000, 0x1000, 0x1000], 'the replay, the remove and its commit all see the mapping');
  assert.is(a.buffer.length, 0, 'then it is unmapped');
  assert.throws(() => native.fileSize(a.fd), /EBADF/);
  sub.unsubscribe();
  memory.close();
});

test('overlapping, empty and negative sections are refused with RangeError', () => {
  const memory = guestMemory();
  memory.add({ iova: 0x1000, size: 0x1000 });
  assert.throws(() => memory.add({ iova: 0x1800, size: 0x1000 }), /overlaps/);
  assert.throws(() => memory.add({ iova: 0, size: 0x1001 }), /overlaps/);
  assert.throws(() => memory.add({ iova: 0x4000, size: 0 }), (e: unknown) => e instanceof RangeError);
  assert.throws(() => memory.add({ iova: -1, size: 0x1000 }), (e: unknown) => e instanceof RangeError);
  assert.is(memory.sections.length, 1);
  memory.close();
});

test('close removes every section in one transaction, completes changes$ and releases all fds', () => {
  const before = openFds();
  const memory = guestMemory();
  memory.add({ iova: 0, size: 0x1000 });
  memory.add({ iova: 0x1000, size: 0x1000, readonly: true });
  const seen: MemoryChange[] = [];
  let completed = false;
  memory.changes$.subscribe({ next: (c) => seen.push(c), complete: () => (completed = true) });
  memory.close();
  memory.close();
  assert.equal(names(seen).slice(4), ['begin', 'remove@0', 'remove@1000', 'commit']);
  assert.ok(completed);
  assert.equal(fdsOpenedSince(before), []);
  assert.throws(() => memory.add({ iova: 0x8000, size: 0x1000 }), (e: unknown) => e instanceof ClosedError);
});

test('sections sliced from a block share its fd and mapping: one memfd for many sections', () => {
  const before = openFds();
  const memory = guestMemory();
  const block = memory.block(0x10000, 'ram-block');
  assert.equal(fdsOpenedSince(before).length, 1);
  const a = memory.add({ iova: 0x100000, size: 0x1000, block, blockOffset: 0x3000 });
  const b = memory.add({ iova: 0x200000, size: 0x2000, block });
  assert.equal([a.fd, a.fdOffset, b.fd, b.fdOffset], [block.fd, 0x3000, block.fd, 0]);
  assert.is(a.block, block);
  a.buffer.write('slice', 0x10);
  assert.is(block.buffer.toString('utf8', 0x3010, 0x3015), 'slice', 'a slice is a view of the block');
  memory.remove(a);
  assert.is(block.buffer.toString('utf8', 0x3010, 0x3015), 'slice', 'removing a slice releases nothing');
  assert.equal(fdsOpenedSince(before).length, 1, 'no fd per section');
  memory.close();
  assert.equal(fdsOpenedSince(before), [], 'close releases the block');
});

test('a slice must be page-aligned, inside its block, and of a block of this guest memory', () => {
  const memory = guestMemory();
  const other = guestMemory();
  const block = memory.block(0x4000);
  assert.throws(() => memory.add({ iova: 0, size: 0x1000, block, blockOffset: 0x800 }), (e: unknown) => e instanceof RangeError && /multiple of 4096/.test(e.message));
  assert.throws(() => memory.add({ iova: 0, size: 0x2000, block, blockOffset: 0x3000 }), (e: unknown) => e instanceof RangeError && /runs past/.test(e.message));
  assert.throws(() => other.add({ iova: 0, size: 0x1000, block }), (e: unknown) => e instanceof RangeError && /not made by this guest memory/.test(e.message));
  assert.throws(() => memory.block(0), (e: unknown) => e instanceof RangeError);
  assert.is(memory.sections.length, 0);
  memory.close();
  other.close();
  assert.throws(() => memory.block(0x1000), (e: unknown) => e instanceof ClosedError);
});

test.run();
