import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  buildConfigSpace,
  barOffset,
  readConfig,
  writeConfig,
  type BarSpec,
  type ConfigSpace,
  type PciDeviceDesc,
} from '../../src/pci/index.js';
import { conventional, express } from './fixtures.js';

/** Random guest writes of 1..8 bytes, mostly in the header and capabilities, clamped to the space. */
const writes = (size: number) =>
  fc.array(
    fc.record({
      offset: fc.oneof(fc.nat(0x10f), fc.nat(size - 1)).map((o) => Math.min(o, size - 1)),
      data: fc.uint8Array({ minLength: 1, maxLength: 8 }),
    }),
    { maxLength: 40 },
  );

const apply = (s: ConfigSpace, w: { offset: number; data: Uint8Array }): ConfigSpace =>
  writeConfig(s, w.offset, Buffer.from(w.data.subarray(0, configSizeOf(s) - w.offset))).space;
const configSizeOf = (s: ConfigSpace): number => s.layout.size;

test('no sequence of writes changes a bit outside the write and RW1C masks, or sets an RW1C bit', () => {
  for (const desc of [conventional, express]) {
    const initial = buildConfigSpace(desc);
    const wmask = initial.writeMask;
    const w1c = initial.rw1cMask;
    fc.assert(
      fc.property(writes(configSizeOf(initial)), (seq) => {
        let s = initial;
        for (const w of seq) {
          const before = s.bytes;
          s = apply(s, w);
          const after = s.bytes;
          for (let i = 0; i < after.length; i++) {
            const changed = (before[i] as number) ^ (after[i] as number);
            if (changed & ~((wmask[i] as number) | (w1c[i] as number))) return false;
            if ((after[i] as number) & changed & (w1c[i] as number) & ~(wmask[i] as number)) return false;
          }
        }
        return true;
      }),
      { numRuns: 200 },
    );
  }
});

test('a multi-byte write lands exactly like the same bytes written one at a time', () => {
  const initial = buildConfigSpace(conventional);
  fc.assert(
    fc.property(writes(256), (seq) => {
      let whole = initial;
      let bytewise = initial;
      for (const w of seq) {
        whole = apply(whole, w);
        const n = Math.min(w.data.length, 256 - w.offset);
        for (let i = 0; i < n; i++) bytewise = apply(bytewise, { offset: w.offset + i, data: w.data.subarray(i, i + 1) });
      }
      return whole.bytes.equals(bytewise.bytes);
    }),
    { numRuns: 200 },
  );
});

type Slot = null | { kind: 'io' | 'mem' | 'mem64'; log: number; prefetchable: boolean };

const slot: fc.Arbitrary<Slot> = fc.oneof(
  fc.constant(null),
  fc.record({ kind: fc.constant<'io'>('io'), log: fc.integer({ min: 2, max: 8 }), prefetchable: fc.constant(false) }),
  fc.record({ kind: fc.constant<'mem'>('mem'), log: fc.integer({ min: 4, max: 31 }), prefetchable: fc.boolean() }),
  fc.record({ kind: fc.constant<'mem64'>('mem64'), log: fc.integer({ min: 4, max: 44 }), prefetchable: fc.boolean() }),
);

/** Turns six random slot choices into a valid BAR list (a 64-bit BAR swallows the next slot). */
const toBars = (slots: readonly Slot[]): BarSpec[] => {
  const bars: BarSpec[] = [];
  for (let i = 0; i < 6; i++) {
    const s = slots[i];
    if (!s) continue;
    const is64 = s.kind === 'mem64' && i < 5;
    const log = s.kind === 'mem64' && !is64 ? Math.min(s.log, 31) : s.log;
    bars.push({ index: i, size: 2 ** log, kind: s.kind === 'io' ? 'io' : 'memory', is64, prefetchable: s.prefetchable });
    if (is64) i++;
  }
  return bars;
};

test('the all-ones sizing probe recovers every BAR size and its type bits', () => {
  fc.assert(
    fc.property(fc.array(slot, { minLength: 6, maxLength: 6 }), (slots) => {
      const bars = toBars(slots);
      const desc: PciDeviceDesc = { ids: { vendorId: 0x1b36, deviceId: 0x0005, classCode: 0xff0000 }, bars };
      let s = buildConfigSpace(desc);
      for (let i = 0; i < 6; i++) s = writeConfig(s, barOffset(i), Buffer.alloc(4, 0xff)).space;
      for (const bar of bars) {
        const lo = readConfig(s, barOffset(bar.index), 4).readUInt32LE(0);
        const hi = bar.is64 ? readConfig(s, barOffset(bar.index + 1), 4).readUInt32LE(0) : 0xffffffff;
        const flags = bar.kind === 'io' ? 0x3 : 0xf;
        const type = bar.kind === 'io' ? 1 : (bar.is64 ? 4 : 0) | (bar.prefetchable ? 8 : 0);
        assert.is(lo & flags, type);
        const mask = (BigInt(hi) << 32n) | BigInt((lo & ~flags) >>> 0);
        assert.is((~mask & 0xffffffffffffffffn) + 1n, BigInt(bar.size));
      }
      const used = new Set(bars.flatMap((b) => (b.is64 ? [b.index, b.index + 1] : [b.index])));
      for (let i = 0; i < 6; i++) if (!used.has(i)) assert.is(readConfig(s, barOffset(i), 4).readUInt32LE(0), 0);
    }),
    { numRuns: 300 },
  );
});

test.run();
