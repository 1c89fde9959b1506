/** Lays a device definition out as vfio-user regions (BARs, ROM, config, VGA, device-specific). */
import { PciRegion, RegionFlags } from '../protocol/constants.js';
import type { SparseMmapArea } from '../protocol/region-caps.js';
import { PciDescriptionError, msixInfo, type ConfigSpace } from '../pci/index.js';
import type { DeviceRegionDefinition, PciDeviceOptions, RamOptions } from './definition.js';
import type { RegionEntry, RegionOverlay } from './region-entry.js';
import type { RegionHandler } from './types.js';

const PAGE = 4096;
/** QEMU rejects a device reporting more regions than this. */
const MAX_REGIONS = 100;
const RW = RegionFlags.READ | RegionFlags.WRITE;

/** Throws a PciDescriptionError unless `ok`. */
const ensure = (ok: boolean, field: string, problem: string): void => {
  if (!ok) throw new PciDescriptionError(field, problem);
};

const configRegion = (config: ConfigSpace): RegionEntry => ({
  index: PciRegion.CONFIG,
  size: config.layout.size,
  flags: RW,
  backing: { kind: 'config' },
  overlays: [],
});

const empty = (index: number): RegionEntry => ({ index, size: 0, flags: 0, backing: { kind: 'none' }, overlays: [] });

/** The MSI-X table and PBA, by the BAR that holds them. */
const msixOverlays = (config: ConfigSpace): Map<number, RegionOverlay[]> => {
  const out = new Map<number, RegionOverlay[]>();
  const info = msixInfo(config);
  if (!info) return out;
  const add = (bar: number, o: RegionOverlay) => out.set(bar, [...(out.get(bar) ?? []), o]);
  add(info.table.bar, { kind: 'msix-table', offset: info.table.offset, size: info.table.size });
  add(info.pba.bar, { kind: 'msix-pba', offset: info.pba.offset, size: info.pba.size });
  return out;
};

const overlaps = (a: { offset: number; size: number }, b: { offset: number; size: number }): boolean =>
  a.offset < b.offset + b.size && b.offset < a.offset + a.size;

/** Checks the mmap areas of a RAM-backed region: page-aligned, inside, disjoint, clear of MSI-X. */
const ramAreas = (field: string, size: number, ram: RamOptions, overlays: readonly RegionOverlay[]): SparseMmapArea[] => {
  ensure(size % PAGE === 0, `${field}.size`, `a RAM-backed region is a whole number of ${PAGE}-byte pages`);
  const areas = [...(ram.sparse ?? [{ offset: 0, size }])].sort((a, b) => a.offset - b.offset);
  areas.forEach((a, i) => {
    const where = `${field}.ram.sparse[${i}]`;
    ensure(a.size > 0 && a.offset % PAGE === 0 && a.size % PAGE === 0, where, `not a non-empty run of ${PAGE}-byte pages`);
    ensure(a.offset + a.size <= size, where, `runs past the end of the region (${size} bytes)`);
    ensure(i === 0 || !overlaps(areas[i - 1]!, a), where, 'overlaps the previous area');
    for (const o of overlays) ensure(!overlaps(a, o), where, `covers the ${o.kind} the server must trap`);
  });
  return areas;
};

const backed = (
  field: string,
  index: number,
  size: number,
  flags: number,
  source: { readonly handler?: RegionHandler; readonly ram?: RamOptions },
  overlays: readonly RegionOverlay[],
): RegionEntry => {
  if (source.ram === undefined) {
    return { index, size, flags, backing: { kind: 'handler', handler: source.handler }, overlays };
  }
  ensure(source.handler === undefined, `${field}.handler`, 'a RAM-backed region takes its handler as ram.trap');
  const areas = ramAreas(field, size, source.ram, overlays);
  return { index, size, flags: flags | RegionFlags.MMAP, backing: { kind: 'ram', areas, trap: source.ram.trap }, overlays };
};

const deviceRegion = (index: number, def: DeviceRegionDefinition): RegionEntry => {
  const field = `regions[${index}]`;
  ensure(Number.isSafeInteger(def.size) && def.size > 0, `${field}.size`, `${String(def.size)} is not a positive size`);
  const flags = def.readOnly ? RegionFlags.READ : RW;
  const entry = backed(field, index, def.size, flags, def, []);
  return { ...entry, type: { type: def.type >>> 0, subtype: def.subtype >>> 0 } };
};

const deviceRegions = (defs: Readonly<Record<number, DeviceRegionDefinition>>): RegionEntry[] => {
  const indexes = Object.keys(defs).map(Number).sort((a, b) => a - b);
  const out: RegionEntry[] = [];
  for (const index of indexes) {
    const ok = Number.isInteger(index) && index >= PciRegion.NUM_REGIONS && index < MAX_REGIONS;
    ensure(ok, `regions[${index}]`, `a device-specific region index is ${PciRegion.NUM_REGIONS}..${MAX_REGIONS - 1}`);
    while (PciRegion.NUM_REGIONS + out.length < index) out.push(empty(PciRegion.NUM_REGIONS + out.length));
    out.push(deviceRegion(index, defs[index]!));
  }
  return out;
};

/** Every region of the device by index: BAR0..5, ROM, config, VGA (not implemented), then device regions. */
export const layoutRegions = (
  o: PciDeviceOptions,
  config: ConfigSpace,
  romSize: (contents: Buffer) => number,
): readonly RegionEntry[] => {
  const overlays = msixOverlays(config);
  const bars = [0, 1, 2, 3, 4, 5].map((i) => {
    const bar = o.bars?.[i as 0];
    return bar ? backed(`bars[${i}]`, i, bar.size, RW, bar, overlays.get(i) ?? []) : empty(i);
  });
  const rom: RegionEntry = o.rom
    ? { index: PciRegion.ROM, size: romSize(o.rom), flags: RegionFlags.READ, backing: { kind: 'rom', contents: o.rom }, overlays: [] }
    : empty(PciRegion.ROM);
  const all = [...bars, rom, configRegion(config), empty(PciRegion.VGA), ...deviceRegions(o.regions ?? {})];
  return Object.freeze(all.map((r) => Object.freeze(r)));
};
