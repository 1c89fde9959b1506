import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dmaTransactions, minPageSize, type DmaBatch } from '../../src/operators/dma-transactions.js';
import { LimitError } from '../../src/protocol/errors.js';
import type { MemoryChange, MemorySection } from '../../src/streams/memory.js';

const scheduler = () => new TestScheduler((actual, expected) => assert.equal(actual, expected));
const section = (id: number, iova: number, size = 0x1000): MemorySection => ({
  id,
  iova,
  size,
  readonly: false,
  fd: 100 + id,
  fdOffset: 0,
  buffer: Buffer.alloc(0),
});
const s1 = section(1, 0x0);
const s2 = section(2, 0x10000);
const s3 = section(3, 0x20000);
const changes: Record<string, MemoryChange> = {
  b: { type: 'begin' },
  c: { type: 'commit' },
  a: { type: 'add', section: s1 },
  d: { type: 'add', section: s2 },
  e: { type: 'add', section: s3 },
  r: { type: 'remove', section: s1 },
  s: { type: 'remove', section: s2 },
};
/** `seq:kind id,kind id` */
const summary = (b: DmaBatch) => `${b.seq}:${b.ops.map((op) => `${op.kind} ${op.section.id}`).join(',')}`;
const limits = { maxDmaMaps: 65535, pgsizes: 4096 };

test('one batch per transaction, emitted at its commit', () => {
  scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const src = cold('-b-a-d-c--b-r-c-|', changes);
    expectObservable(src.pipe(dmaTransactions(limits), map(summary))).toBe('-------x------y-|', {
      x: '1:map 1,map 2',
      y: '2:unmap 1',
    });
    expectSubscriptions(src.subscriptions).toBe('^---------------!');
  });
});

test('a change outside begin/commit is a transaction of its own', () => {
  scheduler().run(({ cold, expectObservable }) => {
    expectObservable(cold('-a-r|', changes).pipe(dmaTransactions(limits), map(summary))).toBe('-x-y|', { x: '1:map 1', y: '2:unmap 1' });
  });
});

test('an empty transaction still commits (its waiters are answered)', () => {
  scheduler().run(({ cold, expectObservable }) => {
    expectObservable(cold('-bc|', changes).pipe(dmaTransactions(limits), map(summary))).toBe('--x|', { x: '1:' });
  });
});

test('max_dma_maps mappings are allowed; one more is rejected with LimitError and never sent', () => {
  scheduler().run(({ cold, expectObservable }) => {
    const src = cold('-b-a-d-e-c|', changes);
    const out = src.pipe(dmaTransactions({ ...limits, maxDmaMaps: 2 }));
    expectObservable(out.pipe(map(summary))).toBe('---------x|', { x: '1:map 1,map 2,rejected 3' });
    expectObservable(out.pipe(map((b) => b.ops[2]!.kind === 'rejected' && b.ops[2]!.error instanceof LimitError))).toBe('---------x|', {
      x: true,
    });
  });
});

test('an unmap frees a slot within the same transaction', () => {
  scheduler().run(({ cold, expectObservable }) => {
    const src = cold('-b-a-d-r-e-c|', changes);
    expectObservable(src.pipe(dmaTransactions({ ...limits, maxDmaMaps: 2 }), map(summary))).toBe('-----------x|', {
      x: '1:map 1,map 2,unmap 1,map 3',
    });
  });
});

test('removing a section that was rejected sends nothing', () => {
  scheduler().run(({ cold, expectObservable }) => {
    const src = cold('-b-a-d-c-b-s-c|', changes);
    expectObservable(src.pipe(dmaTransactions({ ...limits, maxDmaMaps: 1 }), map(summary))).toBe('-------x-----y|', {
      x: '1:map 1,rejected 2',
      y: '2:',
    });
  });
});

test('sections not aligned to the smallest page size are rejected', () => {
  const odd: MemoryChange = { type: 'add', section: section(9, 0x1000, 0x2000) };
  const short: MemoryChange = { type: 'add', section: section(10, 0x4000, 0x1000) };
  const good: MemoryChange = { type: 'add', section: section(11, 0x8000, 0x2000) };
  scheduler().run(({ cold, expectObservable }) => {
    const src = cold('-b-o-s-g-c|', { ...changes, o: odd, s: short, g: good });
    expectObservable(src.pipe(dmaTransactions({ maxDmaMaps: 10, pgsizes: 0x2000 | 0x200000 }), map(summary))).toBe('---------x|', {
      x: '1:rejected 9,rejected 10,map 11',
    });
  });
});

test('minPageSize is the lowest bit of pgsizes', () => {
  assert.is(minPageSize(4096), 4096);
  assert.is(minPageSize(0x1000 | 0x200000 | 0x40000000), 0x1000);
  assert.is(minPageSize(0x200000), 0x200000);
});

test.run();
