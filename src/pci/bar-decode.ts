import { PciBarBits, PciRomBits, barOffset } from './registers.js';

/** A BAR register's value decoded: what it maps and where. */
export interface DecodedBar {
  readonly kind: 'memory' | 'io';
  readonly is64: boolean;
  readonly prefetchable: boolean;
  /** Base address with the type bits stripped (both dwords for a 64-bit BAR). */
  readonly address: bigint;
}

/** Decodes BAR `index` of a type-0 header; a 64-bit BAR in the last slot reads its upper dword as 0. */
export const decodeBar = (bytes: Buffer, index: number, lastIndex = 5): DecodedBar => {
  const off = barOffset(index);
  const lo = bytes.readUInt32LE(off);
  if (lo & PciBarBits.SPACE_IO) {
    return { kind: 'io', is64: false, prefetchable: false, address: BigInt((lo & ~PciBarBits.IO_FLAGS_MASK) >>> 0) };
  }
  const is64 = (lo & PciBarBits.MEM_TYPE_MASK) === PciBarBits.MEM_TYPE_64;
  const hi = is64 && index < lastIndex ? bytes.readUInt32LE(off + 4) : 0;
  return {
    kind: 'memory',
    is64,
    prefetchable: (lo & PciBarBits.PREFETCH) !== 0,
    address: (BigInt(hi) << 32n) | BigInt((lo & ~PciBarBits.MEM_FLAGS_MASK) >>> 0),
  };
};

/** Decodes an expansion ROM register: its base address and enable bit. */
export const decodeRom = (raw: number): { address: number; enabled: boolean } => ({
  address: (raw & PciRomBits.ADDRESS_MASK) >>> 0,
  enabled: (raw & PciRomBits.ENABLE) !== 0,
});
