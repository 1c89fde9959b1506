/** How a device author describes a device: BARs, regions, capabilities, hooks. */
import type { SparseMmapArea } from '../protocol/region-caps.js';
import type { CapSpec, ExtCapSpec, MsixCapSpec, PciIdentity } from '../pci/index.js';
import type { Behaviour, MigrationHooks, RegionHandler, ResetHook } from './types.js';

/** Memory shared with the client through a memfd: the areas it may mmap, and a handler for the rest. */
export interface RamOptions {
  /** Areas (page-aligned, relative to the region) the client may mmap; default the whole region. */
  readonly sparse?: readonly SparseMmapArea[];
  /** Handles accesses outside the sparse areas ("trapped" registers); default plain memory. */
  readonly trap?: RegionHandler;
}

/** One BAR of the device. */
export interface BarDefinition {
  readonly kind: 'io' | 'memory';
  /** Bytes, a power of two. */
  readonly size: number;
  readonly is64?: boolean;
  readonly prefetchable?: boolean;
  /** Serves accesses; without it the BAR reads zeros and ignores writes (MSI-X parts aside). */
  readonly handler?: RegionHandler;
  /** Backs the BAR with a memfd the client can mmap. */
  readonly ram?: RamOptions;
}

/** A device-specific region (index 9 and up), described to the client by its type and subtype. */
export interface DeviceRegionDefinition {
  readonly size: number;
  /** VFIO region type (e.g. `RegionType.PCI_VENDOR_TYPE | vendorId`) and subtype. */
  readonly type: number;
  readonly subtype: number;
  readonly readOnly?: boolean;
  readonly handler?: RegionHandler;
  readonly ram?: RamOptions;
}

/** BAR numbers. */
export type BarIndex = 0 | 1 | 2 | 3 | 4 | 5;

/** Everything `pciDevice` needs. */
export interface PciDeviceOptions {
  /** Shown in logs and by the CLI. */
  readonly name?: string;
  readonly ids: PciIdentity;
  readonly bars?: Readonly<Partial<Record<BarIndex, BarDefinition>>>;
  /** Expansion ROM contents; the region is sized to the next power of two (at least 2 KiB). */
  readonly rom?: Buffer;
  /** 0 = no INTx, 1..4 = INTA#..INTD#. */
  readonly interruptPin?: number;
  readonly multifunction?: boolean;
  readonly capabilities?: readonly CapSpec[];
  readonly extendedCapabilities?: readonly ExtCapSpec[];
  readonly configSize?: 256 | 4096;
  /** Device-specific regions by index (>= 9). */
  readonly regions?: Readonly<Record<number, DeviceRegionDefinition>>;
  /**
   * Error and request notification interrupts, one vector each; both on unless set false, as
   * libvfio-user does (QEMU turns on error recovery only when ERR has its vector, and warns otherwise).
   */
  readonly irqs?: { readonly err?: boolean; readonly req?: boolean };
  readonly reset?: ResetHook;
  readonly behaviour?: Behaviour;
  /** Live migration hooks (see MigrationHooks); default: migrates the framework's state alone. `false`: no migration. */
  readonly migration?: MigrationHooks | false;
}

/** An I/O BAR of `size` bytes (4..256) served by `handler`. */
export const ioBar = (size: number, handler?: RegionHandler): BarDefinition => ({ kind: 'io', size, handler });

/** A memory BAR of `size` bytes served by `handler`. */
export const memoryBar = (
  size: number,
  handler?: RegionHandler,
  options: { readonly is64?: boolean; readonly prefetchable?: boolean } = {},
): BarDefinition => ({ kind: 'memory', size, handler, ...options });

/** A memory BAR backed by a memfd the client can mmap (all of it, or the `sparse` areas). */
export const ramBar = (
  size: number,
  options: RamOptions & { readonly is64?: boolean; readonly prefetchable?: boolean } = {},
): BarDefinition => {
  const { sparse, trap, ...bar } = options;
  return { kind: 'memory', size, ...bar, ram: { sparse, trap } };
};

const PAGE = 4096;
const nextPow2 = (n: number): number => 2 ** Math.ceil(Math.log2(Math.max(n, 1)));

/** Where `msix()` puts the table (offset 0) and the PBA (second half) in a BAR of its own. */
const msixBarSize = (vectors: number): number => 2 * nextPow2(Math.max(vectors * 16, PAGE));

/** A memory BAR that holds only an MSI-X table and PBA (emulated by the server), for `msix(vectors, bar)`. */
export const msixBar = (vectors: number): BarDefinition => ({ kind: 'memory', size: msixBarSize(vectors) });

/** The MSI-X capability for `vectors` vectors, its table at 0 and PBA half-way in `bar` (see msixBar). */
export const msix = (vectors: number, bar: BarIndex): MsixCapSpec => ({
  kind: 'msix',
  tableSize: vectors,
  tableBar: bar,
  tableOffset: 0,
  pbaBar: bar,
  pbaOffset: msixBarSize(vectors) / 2,
});
