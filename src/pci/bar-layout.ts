import { PciRegion, RegionFlags } from '../protocol/constants.js';
import { validateDescription } from './validate.js';
import type { BarSpec, PciDeviceDesc } from './types.js';

/** What a region decodes: a memory or I/O BAR, or the expansion ROM. */
export type RegionKind = 'memory' | 'io' | 'rom';

/** One implemented BAR (or the ROM) as a vfio-user region. */
export interface BarRegion {
  /** vfio-user region index: the BAR number 0..5, or 6 for the ROM. */
  readonly index: number;
  readonly size: number;
  readonly kind: RegionKind;
  readonly is64: boolean;
  readonly prefetchable: boolean;
  /** Region info flags (READ, WRITE, MMAP). */
  readonly flags: number;
  /** Address bits the guest can set in the register; reads back after writing all ones. */
  readonly sizeMask: bigint;
}

/** The address bits a BAR of `size` keeps in a register `width` bits wide. */
const sizeMask = (size: number, width: 32 | 64): bigint => (1n << BigInt(width)) - BigInt(size);

const barRegion = (bar: BarSpec): BarRegion => {
  const is64 = bar.kind === 'memory' && (bar.is64 ?? false);
  const rw = RegionFlags.READ | RegionFlags.WRITE;
  return Object.freeze({
    index: bar.index,
    size: bar.size,
    kind: bar.kind,
    is64,
    prefetchable: bar.kind === 'memory' && (bar.prefetchable ?? false),
    flags: bar.mappable ? rw | RegionFlags.MMAP : rw,
    sizeMask: sizeMask(bar.size, is64 ? 64 : 32),
  });
};

/** The regions of an already validated description, sorted by index. */
export const regionsOf = (desc: PciDeviceDesc): readonly BarRegion[] => {
  const bars = [...(desc.bars ?? [])].sort((a, b) => a.index - b.index).map(barRegion);
  if (desc.rom === undefined) return Object.freeze(bars);
  const rom: BarRegion = Object.freeze({
    index: PciRegion.ROM,
    size: desc.rom.size,
    kind: 'rom',
    is64: false,
    prefetchable: false,
    // The ROM is read-only to the client: the ROM register lives in config space, not in the region.
    flags: RegionFlags.READ,
    sizeMask: sizeMask(desc.rom.size, 32),
  });
  return Object.freeze([...bars, rom]);
};

/** Validates a description and lists its implemented BARs and ROM as vfio-user regions. */
export const barLayout = (desc: PciDeviceDesc): readonly BarRegion[] => {
  validateDescription(desc);
  return regionsOf(desc);
};
