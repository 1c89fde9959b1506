import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RegionFlags } from '../../src/protocol/constants.js';
import { PciDescriptionError, barLayout, buildConfigSpace } from '../../src/pci/index.js';
import { express } from './fixtures.js';

const RW = RegionFlags.READ | RegionFlags.WRITE;

test('lists implemented BARs and the ROM with region index, size, kind and region flags', () => {
  assert.equal(barLayout(express), [
    { index: 0, size: 0x4000, kind: 'memory', is64: true, prefetchable: true, flags: RW | RegionFlags.MMAP, sizeMask: 0xffffffffffffc000n },
    { index: 2, size: 0x100, kind: 'io', is64: false, prefetchable: false, flags: RW, sizeMask: 0xffffff00n },
    { index: 3, size: 0x1000, kind: 'memory', is64: false, prefetchable: false, flags: RW, sizeMask: 0xfffff000n },
    { index: 6, size: 0x40000, kind: 'rom', is64: false, prefetchable: false, flags: RegionFlags.READ, sizeMask: 0xfffc0000n },
  ]);
});

test('sorts BARs by index whatever the description order', () => {
  const regions = barLayout({
    ids: { vendorId: 1, deviceId: 2, classCode: 0 },
    bars: [{ index: 4, size: 16, kind: 'memory' }, { index: 1, size: 16, kind: 'io' }],
  });
  assert.equal(regions.map((r) => r.index), [1, 4]);
});

test('validates the description it lays out', () => {
  const bad = { ids: { vendorId: 1, deviceId: 2, classCode: 0 }, bars: [{ index: 0, size: 24, kind: 'memory' as const }] };
  assert.throws(() => barLayout(bad), (e: unknown) => e instanceof PciDescriptionError && e.field === 'bars[0].size');
});

test('a built space carries the same layout', () => {
  assert.equal(buildConfigSpace(express).layout.regions, barLayout(express));
});

test.run();
