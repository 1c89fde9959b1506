// The DMA mapping table (a persistent ordered map): checked against a plain array model on random
// sequences of maps and unmaps, and versions stay values.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { DmaMapFlags } from '../../src/protocol/constants.js';
import {
  addMapping,
  checkMap,
  emptyDmaTable,
  mappingsOf,
  resolveRange,
  takeMapping,
  type DmaMapping,
  type DmaTable,
} from '../../src/server/dma-table.js';

const PAGE = 0x1000;
const limits = { maxMaps: 64, pageSize: PAGE };
const RW = DmaMapFlags.READ | DmaMapFlags.WRITE;
const mapping = (iova: number, size: number, flags = RW): DmaMapping => ({ iova, size, flags, offset: 0, memory: undefined });
const request = (iova: number, size: number) => ({ argsz: 32, flags: RW, offset: 0, address: iova, size });
const errnoOf = (fn: () => unknown): number | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as { errno?: number }).errno;
  }
};

type Op = { kind: 'map' | 'unmap'; page: number; pages: number };
const op = fc.record({ kind: fc.constantFrom<'map' | 'unmap'>('map', 'map', 'unmap'), page: fc.nat(40), pages: fc.integer({ min: 1, max: 4 }) });

test('maps and unmaps agree with a sorted-array model: accepted, refused (EEXIST, ENOSPC, ENOENT) and looked up alike', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 120 }), (ops: Op[]) => {
      let table: DmaTable = emptyDmaTable;
      let model: DmaMapping[] = [];
      for (const o of ops) {
        const iova = o.page * PAGE;
        const size = o.pages * PAGE;
        if (o.kind === 'map') {
          const overlaps = model.some((m) => m.iova < iova + size && iova < m.iova + m.size);
          const same = model.find((m) => m.iova === iova && m.size === size);
          const expected = same ? 'identical' : overlaps ? 17 : model.length >= limits.maxMaps ? 28 : 'new';
          const got = errnoOf(() => checkMap(table, request(iova, size), false, limits)) ?? checkMap(table, request(iova, size), false, limits);
          assert.is(got, expected, `map ${iova.toString(16)}+${size.toString(16)}`);
          if (got === 'new') {
            table = addMapping(table, mapping(iova, size));
            model = [...model, mapping(iova, size)].sort((a, b) => a.iova - b.iova);
          }
        } else {
          const found = model.find((m) => m.iova === iova && m.size === size);
          const errno = errnoOf(() => takeMapping(table, iova, size));
          assert.is(errno, found ? undefined : 2, `unmap ${iova.toString(16)}+${size.toString(16)}`);
          if (found) {
            table = takeMapping(table, iova, size).table;
            model = model.filter((m) => m !== found);
          }
        }
        assert.equal(mappingsOf(table).map((m) => [m.iova, m.size]), model.map((m) => [m.iova, m.size]));
      }
      for (let page = 0; page < 48; page++) {
        const at = page * PAGE + 8;
        const held = model.some((m) => m.iova <= at && at < m.iova + m.size);
        assert.is(errnoOf(() => resolveRange(table, at, 4, 'read')), held ? undefined : 14, `read at ${at.toString(16)}`);
      }
    }),
    { numRuns: 200 },
  );
});

test('every version stays as it was: a map or unmap makes a new table', () => {
  const one = addMapping(emptyDmaTable, mapping(0, PAGE));
  const two = addMapping(one, mapping(2 * PAGE, PAGE));
  const back = takeMapping(two, 0, PAGE).table;
  assert.equal(mappingsOf(emptyDmaTable), []);
  assert.equal(mappingsOf(one).map((m) => m.iova), [0]);
  assert.equal(mappingsOf(two).map((m) => m.iova), [0, 2 * PAGE]);
  assert.equal(mappingsOf(back).map((m) => m.iova), [2 * PAGE]);
});

test('a range across two adjacent mappings resolves into both segments; a gap is EFAULT, a missing permission EPERM', () => {
  let table = addMapping(emptyDmaTable, mapping(0, PAGE));
  table = addMapping(table, mapping(PAGE, PAGE, DmaMapFlags.READ));
  assert.equal(resolveRange(table, PAGE - 4, 8, 'read').map((s) => [s.iova, s.length]), [[PAGE - 4, 4], [PAGE, 4]]);
  assert.is(errnoOf(() => resolveRange(table, PAGE - 4, 8, 'write')), 1);
  assert.is(errnoOf(() => resolveRange(table, 2 * PAGE - 4, 8, 'read')), 14);
});

test('65,535 maps (the default max_dma_maps) then as many unmaps: every one accepted, the table empty again', () => {
  let table: DmaTable = emptyDmaTable;
  const big = { maxMaps: 65535, pageSize: PAGE };
  for (let i = 0; i < 65535; i++) {
    assert.is(checkMap(table, request(i * 2 * PAGE, PAGE), false, big), 'new');
    table = addMapping(table, mapping(i * 2 * PAGE, PAGE));
  }
  assert.is(table.size, 65535);
  assert.is(errnoOf(() => checkMap(table, request(2 * 65535 * PAGE, PAGE), false, big)), 28);
  for (let i = 0; i < 65535; i++) table = takeMapping(table, i * 2 * PAGE, PAGE).table;
  assert.is(table.size, 0);
});

test.run();
