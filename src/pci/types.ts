/** The description of an emulated PCI function, from which its config space is built. */

/** Identification registers. */
export interface PciIdentity {
  readonly vendorId: number;
  readonly deviceId: number;
  readonly subsystemVendorId?: number;
  readonly subsystemId?: number;
  readonly revision?: number;
  /** 24-bit class code: base << 16 | subclass << 8 | prog-if. */
  readonly classCode: number;
}

/** Address space a BAR decodes. */
export type BarKind = 'memory' | 'io';

/** One base address register. */
export interface BarSpec {
  /** BAR number 0..5; a 64-bit BAR also uses index + 1. */
  readonly index: number;
  /** Bytes, a power of two: memory >= 16, I/O 4..256. */
  readonly size: number;
  readonly kind: BarKind;
  readonly is64?: boolean;
  readonly prefetchable?: boolean;
  /** Whether the server can hand this region out as an fd to mmap (sets the region's MMAP flag). */
  readonly mappable?: boolean;
}

/** Expansion ROM. */
export interface RomSpec {
  /** Bytes, a power of two >= 2 KiB. */
  readonly size: number;
}

/** Power Management capability. */
export interface PmCapSpec {
  readonly kind: 'pm';
  readonly d1?: boolean;
  readonly d2?: boolean;
  /** D3hot -> D0 keeps the function's state (PMCSR No_Soft_Reset). */
  readonly noSoftReset?: boolean;
  /** 5-bit mask of the states PME# can be asserted from (D0, D1, D2, D3hot, D3cold). */
  readonly pmeSupport?: number;
}

/** MSI capability. */
export interface MsiCapSpec {
  readonly kind: 'msi';
  /** Vectors the function can use: 1, 2, 4, 8, 16 or 32. */
  readonly vectors: number;
  readonly is64?: boolean;
  /** Per-vector masking (adds the mask and pending registers). */
  readonly maskable?: boolean;
}

/** MSI-X capability; the table and PBA live in memory BARs. */
export interface MsixCapSpec {
  readonly kind: 'msix';
  /** Number of table entries, 1..2048. */
  readonly tableSize: number;
  readonly tableBar: number;
  readonly tableOffset: number;
  readonly pbaBar: number;
  readonly pbaOffset: number;
}

/** PCI Express device/port types this module can emulate. */
export type PcieDeviceType = 'endpoint' | 'legacy-endpoint' | 'rc-integrated';

/** PCI Express capability (version 2). */
export interface PcieCapSpec {
  readonly kind: 'pcie';
  readonly deviceType: PcieDeviceType;
  /** Max payload size supported in bytes: 128..4096 (default 128). */
  readonly maxPayload?: number;
  /** Function Level Reset supported. */
  readonly flr?: boolean;
  /** Link speed generation (1 = 2.5 GT/s .. 6 = 64 GT/s) and width; not for rc-integrated. */
  readonly link?: { readonly speed: number; readonly width: number };
}

/** Vendor-specific capability: `bytes` follow the 3-byte header (id, next, length). */
export interface VendorCapSpec {
  readonly kind: 'vendor';
  readonly bytes: Buffer;
  /** Bits of `bytes` the guest may write (same length as `bytes`); read-only when absent. */
  readonly writeMask?: Buffer;
}

/** A standard capability placed in the list from 0x40. */
export type CapSpec = PmCapSpec | MsiCapSpec | MsixCapSpec | PcieCapSpec | VendorCapSpec;

/** Vendor-specific extended capability: `bytes` follow the 8-byte VSEC headers. */
export interface VendorExtCapSpec {
  readonly kind: 'vendor';
  readonly vsecId: number;
  readonly vsecRev?: number;
  readonly bytes: Buffer;
  readonly writeMask?: Buffer;
}

/** Device Serial Number extended capability. */
export interface DsnExtCapSpec {
  readonly kind: 'dsn';
  /** 64-bit serial (EUI-64). */
  readonly serial: bigint;
}

/** Any extended capability given as its body after the 4-byte header. */
export interface RawExtCapSpec {
  readonly kind: 'raw';
  readonly id: number;
  readonly version?: number;
  readonly bytes: Buffer;
  readonly writeMask?: Buffer;
}

/** An extended capability placed in the list from 0x100. */
export type ExtCapSpec = VendorExtCapSpec | DsnExtCapSpec | RawExtCapSpec;

/** Everything needed to build a type-0 config space. */
export interface PciDeviceDesc {
  readonly ids: PciIdentity;
  readonly bars?: readonly BarSpec[];
  readonly rom?: RomSpec;
  /** 0 = none, 1..4 = INTA#..INTD#. */
  readonly interruptPin?: number;
  readonly multifunction?: boolean;
  readonly capabilities?: readonly CapSpec[];
  readonly extendedCapabilities?: readonly ExtCapSpec[];
  /** Force a size; by default 4096 with a PCIe or extended capability, else 256. */
  readonly configSize?: 256 | 4096;
}

/** A description that failed validation; `field` names the offending field (e.g. `bars[1].size`). */
export class PciDescriptionError extends Error {
  readonly field: string;
  constructor(field: string, problem: string) {
    super(`${field}: ${problem}`);
    this.name = 'PciDescriptionError';
    this.field = field;
  }
}
