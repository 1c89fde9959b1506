import { MSIX_ENTRY_SIZE, MsiFlags, MsiReg, MsixFlags, MsixReg, msixPbaSize } from './capability-regs.js';
import { partsOf, type ConfigSpace, type MsiLayout, type MsixLayout } from './space.js';

/** The current MSI programming of a function. */
export interface MsiState {
  readonly offset: number;
  readonly enabled: boolean;
  /** Vectors the function is capable of. */
  readonly vectorsCapable: number;
  /** Vectors software enabled (Multiple Message Enable, capped at the capability). */
  readonly vectors: number;
  readonly is64: boolean;
  readonly maskable: boolean;
  readonly address: bigint;
  readonly data: number;
  /** Per-vector mask bits; undefined without per-vector masking. */
  readonly mask: number | undefined;
  /** Per-vector pending bits; undefined without per-vector masking. */
  readonly pending: number | undefined;
}

/** The current MSI-X control state of a function. */
export interface MsixState {
  readonly offset: number;
  readonly enabled: boolean;
  readonly functionMask: boolean;
  readonly tableSize: number;
}

/** Where a function's MSI-X table and pending-bit array live. */
export interface MsixInfo {
  readonly entries: number;
  readonly table: { readonly bar: number; readonly offset: number; readonly size: number };
  readonly pba: { readonly bar: number; readonly offset: number; readonly size: number };
}

/** Decodes the MSI capability at `l.offset` of `bytes`. */
export const decodeMsi = (bytes: Buffer, l: MsiLayout): MsiState => {
  const flags = bytes.readUInt16LE(l.offset + MsiReg.FLAGS);
  const mme = (flags & MsiFlags.QSIZE) >> MsiFlags.QSIZE_SHIFT;
  const lo = BigInt(bytes.readUInt32LE(l.offset + MsiReg.ADDRESS_LO));
  const hi = l.is64 ? BigInt(bytes.readUInt32LE(l.offset + MsiReg.ADDRESS_HI)) : 0n;
  const data = l.offset + (l.is64 ? MsiReg.DATA_64 : MsiReg.DATA_32);
  return {
    offset: l.offset,
    enabled: (flags & MsiFlags.ENABLE) !== 0,
    vectorsCapable: l.vectors,
    // Values above the capability (or the reserved 6 and 7) are software errors; never grant more.
    vectors: Math.min(1 << mme, l.vectors),
    is64: l.is64,
    maskable: l.maskable,
    address: (hi << 32n) | lo,
    data: bytes.readUInt16LE(data),
    mask: l.maskable ? bytes.readUInt32LE(data + 4) : undefined,
    pending: l.maskable ? bytes.readUInt32LE(data + 8) : undefined,
  };
};

/** Decodes the MSI-X message control at `l.offset` of `bytes`. */
export const decodeMsix = (bytes: Buffer, l: MsixLayout): MsixState => {
  const flags = bytes.readUInt16LE(l.offset + MsixReg.FLAGS);
  return {
    offset: l.offset,
    enabled: (flags & MsixFlags.ENABLE) !== 0,
    functionMask: (flags & MsixFlags.MASKALL) !== 0,
    tableSize: l.tableSize,
  };
};

/** The MSI state of a space, or undefined when it has no MSI capability. */
export const msiState = (space: ConfigSpace): MsiState | undefined =>
  space.layout.msi && decodeMsi(partsOf(space).bytes, space.layout.msi);

/** The MSI-X enable and function-mask state of a space, or undefined without MSI-X. */
export const msixState = (space: ConfigSpace): MsixState | undefined =>
  space.layout.msix && decodeMsix(partsOf(space).bytes, space.layout.msix);

/** Where the MSI-X table and PBA live (BAR, offset, bytes), or undefined without MSI-X. */
export const msixInfo = (space: ConfigSpace): MsixInfo | undefined => {
  const l = space.layout.msix;
  if (l === undefined) return undefined;
  return {
    entries: l.tableSize,
    table: { bar: l.tableBar, offset: l.tableOffset, size: l.tableSize * MSIX_ENTRY_SIZE },
    pba: { bar: l.pbaBar, offset: l.pbaOffset, size: msixPbaSize(l.tableSize) },
  };
};
