import { TestScheduler } from 'rxjs/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chunkTransfers, splitTransfer } from '../../src/operators/chunk-transfers.js';

const scheduler = () => new TestScheduler((actual, expected) => assert.equal(actual, expected));

test('a count equal to the limit is one piece', () => {
  assert.equal(splitTransfer({ offset: 0x10, count: 8 }, 8), [{ offset: 0x10, count: 8 }]);
});

test('a count one above the limit is a full piece and a one-byte piece', () => {
  assert.equal(splitTransfer({ offset: 0x10, count: 9 }, 8), [
    { offset: 0x10, count: 8 },
    { offset: 0x18, count: 1 },
  ]);
});

test('a zero-length transfer stays one zero-length piece', () => {
  assert.equal(splitTransfer({ offset: 4, count: 0 }, 8), [{ offset: 4, count: 0 }]);
});

test('a chunk size below 1 is refused', () => {
  assert.throws(() => splitTransfer({ offset: 0, count: 4 }, 0), (e: unknown) => e instanceof RangeError);
});

test('chunkTransfers splits every transfer in order', () => {
  scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const source = cold('-a------b-|', { a: { offset: 0, count: 10 }, b: { offset: 100, count: 3 } });
    expectObservable(source.pipe(chunkTransfers(4))).toBe('-(xyz)--w-|', {
      x: { offset: 0, count: 4 },
      y: { offset: 4, count: 4 },
      z: { offset: 8, count: 2 },
      w: { offset: 100, count: 3 },
    });
    expectSubscriptions(source.subscriptions).toBe('^---------!');
  });
});

test.run();
