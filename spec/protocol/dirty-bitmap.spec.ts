import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  allocDirtyBitmap, dirtyAddresses, dirtyBitmapSize, dirtyPageCount, isPageDirty, markDirty, setPageDirty,
} from '../../src/protocol/dirty-bitmap.js';
import { assertHex } from './helpers.js';

test('bitmap size is ceil(ceil(length / page_size) / 64) * 8', () => {
  assert.is(dirtyBitmapSize(4096, 4096), 8);
  assert.is(dirtyBitmapSize(4097, 4096), 8);
  assert.is(dirtyBitmapSize(64 * 4096, 4096), 8);
  assert.is(dirtyBitmapSize(65 * 4096, 4096), 16);
  assert.is(dirtyBitmapSize(1 << 30, 4096), 32768);
  assert.is(dirtyBitmapSize(0, 4096), 0);
  assert.is(dirtyPageCount(4097, 4096), 2);
});

test('page p is bit p % 64 of little-endian u64 word p / 64', () => {
  const range = { iova: 0x10_0000, length: 128 * 4096, page_size: 4096 };
  const bitmap = allocDirtyBitmap(range);
  setPageDirty(bitmap, 0);
  setPageDirty(bitmap, 9);
  setPageDirty(bitmap, 127);
  assertHex(bitmap, '01 02 00 00 00 00 00 00  00 00 00 00 00 00 00 80');
  assert.is(bitmap.readBigUInt64LE(8), 1n << 63n);
  assert.ok(isPageDirty(bitmap, 9));
  assert.not.ok(isPageDirty(bitmap, 10));
  assert.equal(dirtyAddresses(bitmap, range), [0x10_0000, 0x10_9000, 0x17_f000]);
});

test('setPageDirty refuses a page outside the bitmap', () => {
  assert.throws(() => setPageDirty(Buffer.alloc(8), 64), (e: unknown) => e instanceof RangeError);
});

test('markDirty marks every page a write touches, clipped to the range', () => {
  const range = { iova: 0x1000, length: 8 * 0x1000, page_size: 0x1000 };
  const bitmap = allocDirtyBitmap(range);
  markDirty(bitmap, range, 0x1fff, 2);
  markDirty(bitmap, range, 0x8800, 0x10000);
  markDirty(bitmap, range, 0, 0x800);
  markDirty(bitmap, range, 0x4000, 0);
  assert.equal(dirtyAddresses(bitmap, range), [0x1000, 0x2000, 0x8000]);
});

test('dirtyAddresses ignores bits beyond the range', () => {
  const range = { iova: 0, length: 3 * 4096, page_size: 4096 };
  const bitmap = Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(dirtyAddresses(bitmap, range), [0, 4096, 8192]);
});

test('marking then listing gives back the pages marked', () => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.nat(999), { maxLength: 50 }), (pages) => {
      const range = { iova: 0x4000_0000, length: 1000 * 4096, page_size: 4096 };
      const bitmap = allocDirtyBitmap(range);
      pages.forEach((p) => setPageDirty(bitmap, p));
      const expected = [...pages].sort((a, b) => a - b).map((p) => range.iova + p * 4096);
      assert.equal(dirtyAddresses(bitmap, range), expected);
    }),
  );
});

test.run();
