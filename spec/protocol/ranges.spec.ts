// Address ranges (the persistent ordered map the client's and the server's DMA tables share).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { editRanges, emptyRanges, exactRange, overlapsAny, rangeHolding, rangeList, rangesOf, withRange, withoutRange } from '../../src/protocol/ranges.js';

const r = (iova: number, size: number) => ({ iova, size });

test('lookups agree with a scan of a plain list, for any set of disjoint ranges', () => {
  const disjoint = fc.uniqueArray(fc.nat(200), { maxLength: 40 }).map((starts) => starts.map((s) => r(s * 16, 1 + (s % 15))));
  fc.assert(
    fc.property(disjoint, fc.nat(3300), fc.integer({ min: 1, max: 40 }), (list, at, size) => {
      const ranges = rangesOf(list);
      const holding = list.find((x) => x.iova <= at && at < x.iova + x.size);
      assert.equal(rangeHolding(ranges, at), holding);
      assert.is(overlapsAny(ranges, at, size), list.some((x) => x.iova < at + size && at < x.iova + x.size));
      assert.equal(rangeList(ranges), [...list].sort((a, b) => a.iova - b.iova));
    }),
  );
});

test('every version is a value: with, without and a batch edit leave the versions before them as they were', () => {
  const a = withRange(emptyRanges(), r(0x1000, 0x100));
  const b = withRange(a, r(0x2000, 0x100));
  const c = editRanges(b, (draft) => {
    draft.delete(0x1000);
    draft.set(0x3000, r(0x3000, 0x10));
  });
  const d = withoutRange(c, 0x2000);
  assert.equal([a, b, c, d].map((x) => rangeList(x).map((y) => y.iova)), [[0x1000], [0x1000, 0x2000], [0x2000, 0x3000], [0x3000]]);
  assert.equal(exactRange(b, 0x2000, 0x100), r(0x2000, 0x100));
  assert.is(exactRange(b, 0x2000, 0x200), undefined);
  assert.throws(() => (b as unknown as { set(k: number, v: unknown): void }).set(0, r(0, 1)), 'a version cannot be changed in place');
});

test.run();
