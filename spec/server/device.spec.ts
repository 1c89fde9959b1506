// pciDevice: a definition laid out as regions, validated up front.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RegionFlags, RegionType } from '../../src/protocol/constants.js';
import { PciDescriptionError } from '../../src/pci/index.js';
import { ioBar, memoryBar, msix, msixBar, pciDevice, ramBar, type PciDeviceOptions } from '../../src/server/index.js';
import { kitchenSink } from './fixtures.js';

const ids = { vendorId: 0x1234, deviceId: 1, classCode: 0 };
const rejects = (o: PciDeviceOptions, field: string) =>
  assert.throws(() => pciDevice(o), (e: unknown) => e instanceof PciDescriptionError && e.field === field);

test('lays out BARs, ROM, config, VGA and device-specific regions with their flags and backings', () => {
  const d = kitchenSink();
  assert.equal(
    d.regions.map((r) => [r.index, r.size, r.flags, r.backing.kind]),
    [
      [0, 16, 3, 'handler'],
      [1, 4096, 3, 'handler'],
      [2, 16384, 3 | RegionFlags.MMAP, 'ram'],
      [3, 0, 0, 'none'],
      [4, 8192, 3, 'handler'],
      [5, 0, 0, 'none'],
      [6, 2048, RegionFlags.READ, 'rom'],
      [7, 4096, 3, 'config'],
      [8, 0, 0, 'none'],
      [9, 256, 3, 'handler'],
    ],
  );
  assert.equal(d.regions[4]!.overlays, [
    { kind: 'msix-table', offset: 0, size: 64 },
    { kind: 'msix-pba', offset: 4096, size: 8 },
  ]);
  assert.equal(d.irqCounts, { intx: 1, msi: 4, msix: 4, err: 1, req: 1 });
});

test('the interrupt counts follow the pin and capabilities; ERR and REQ have a vector unless turned off', () => {
  const d = pciDevice({ ids, bars: { 0: msixBar(16) }, capabilities: [msix(16, 0)] });
  assert.equal(d.irqCounts, { intx: 0, msi: 0, msix: 16, err: 1, req: 1 });
  assert.is(d.regions[0]!.size, 8192);
  const quiet = pciDevice({ ids, irqs: { err: false, req: false } });
  assert.equal(quiet.irqCounts, { intx: 0, msi: 0, msix: 0, err: 0, req: 0 });
});

test('device-specific regions fill the gap up to their index with empty regions', () => {
  const d = pciDevice({ ids, regions: { 11: { size: 64, type: RegionType.GFX, subtype: 1 } } });
  assert.equal(d.regions.map((r) => r.size), [0, 0, 0, 0, 0, 0, 0, 256, 0, 0, 0, 64]);
  assert.equal(d.regions[11]!.type, { type: RegionType.GFX, subtype: 1 });
});

test('PCI rules are checked by the PCI emulation (e.g. a BAR size not a power of two)', () => {
  rejects({ ids, bars: { 0: memoryBar(3000) } }, 'bars[0].size');
  rejects({ ids, bars: { 1: ioBar(512) } }, 'bars[0].size');
});

test('a RAM region is a whole number of pages', () => {
  rejects({ ids, bars: { 0: ramBar(2048) } }, 'bars[0].size');
});

test('sparse areas are page-aligned, inside the region, and disjoint', () => {
  rejects({ ids, bars: { 0: ramBar(16384, { sparse: [{ offset: 100, size: 4096 }] }) } }, 'bars[0].ram.sparse[0]');
  rejects({ ids, bars: { 0: ramBar(16384, { sparse: [{ offset: 12288, size: 8192 }] }) } }, 'bars[0].ram.sparse[0]');
  rejects({ ids, bars: { 0: ramBar(16384, { sparse: [{ offset: 0, size: 8192 }, { offset: 4096, size: 4096 }] }) } }, 'bars[0].ram.sparse[1]');
});

test('sparse areas may not cover the MSI-X table or PBA', () => {
  rejects({ ids, bars: { 0: ramBar(16384) }, capabilities: [{ kind: 'msix', tableSize: 4, tableBar: 0, tableOffset: 0, pbaBar: 0, pbaOffset: 8192 }] }, 'bars[0].ram.sparse[0]');
  const ok = pciDevice({
    ids,
    bars: { 0: ramBar(16384, { sparse: [{ offset: 4096, size: 4096 }] }) },
    capabilities: [{ kind: 'msix', tableSize: 4, tableBar: 0, tableOffset: 0, pbaBar: 0, pbaOffset: 8192 }],
  });
  assert.is(ok.regions[0]!.overlays.length, 2);
});

test('a RAM region takes its handler as ram.trap', () => {
  rejects({ ids, bars: { 0: { kind: 'memory', size: 4096, handler: {}, ram: {} } } }, 'bars[0].handler');
});

test('device-specific region indexes are 9..99 with a positive size', () => {
  rejects({ ids, regions: { 8: { size: 16, type: 1, subtype: 1 } } }, 'regions[8]');
  rejects({ ids, regions: { 100: { size: 16, type: 1, subtype: 1 } } }, 'regions[100]');
  rejects({ ids, regions: { 9: { size: 0, type: 1, subtype: 1 } } }, 'regions[9].size');
});

test.run();
