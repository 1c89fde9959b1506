import { PciConfig, PciStatus } from './registers.js';
import type { BarRegion } from './bar-layout.js';

/** Where the Power Management capability sits and which optional states it supports. */
export interface PmLayout {
  readonly offset: number;
  readonly d1: boolean;
  readonly d2: boolean;
}

/** Where the MSI capability sits and its shape. */
export interface MsiLayout {
  readonly offset: number;
  readonly is64: boolean;
  readonly maskable: boolean;
  /** Vectors the function is capable of. */
  readonly vectors: number;
}

/** Where the MSI-X capability sits and where its table and PBA live. */
export interface MsixLayout {
  readonly offset: number;
  readonly tableSize: number;
  readonly tableBar: number;
  readonly tableOffset: number;
  readonly pbaBar: number;
  readonly pbaOffset: number;
}

/** Where the PCI Express capability sits. */
export interface PcieLayout {
  readonly offset: number;
  readonly flr: boolean;
}

/** The fixed shape of a config space: size, regions and where the emulated capabilities are. */
export interface ConfigLayout {
  readonly size: 256 | 4096;
  readonly regions: readonly BarRegion[];
  readonly pm?: PmLayout;
  readonly msi?: MsiLayout;
  readonly msix?: MsixLayout;
  readonly pcie?: PcieLayout;
}

/** An immutable config space value: every change yields a new value, so it folds with `scan`. */
export interface ConfigSpace {
  readonly layout: ConfigLayout;
  /** A copy of the current contents. */
  readonly bytes: Buffer;
  /** A copy of the mask of bits the guest may write. */
  readonly writeMask: Buffer;
  /** A copy of the mask of bits the guest clears by writing 1. */
  readonly rw1cMask: Buffer;
}

/** The buffers behind a ConfigSpace; never handed out, so nobody outside can mutate them. */
export interface SpaceParts {
  readonly bytes: Buffer;
  readonly writeMask: Buffer;
  readonly rw1cMask: Buffer;
  /** Contents at build time, for reset. */
  readonly initial: Buffer;
}

// The buffers sit on the space under a registered symbol, not in a module-private WeakMap: a device
// built by one copy of this package (a user's module importing it) must work in another (the
// bundled CLI serving that module). Non-enumerable, so they never show in JSON or inspection.
const PARTS = Symbol.for('vfio-user-rx:config-space-parts');

class Space implements ConfigSpace {
  readonly layout: ConfigLayout;
  constructor(layout: ConfigLayout, p: SpaceParts) {
    this.layout = layout;
    Object.defineProperty(this, PARTS, { value: p, enumerable: false });
    Object.freeze(this);
  }
  get bytes(): Buffer {
    return Buffer.from(partsOf(this).bytes);
  }
  get writeMask(): Buffer {
    return Buffer.from(partsOf(this).writeMask);
  }
  get rw1cMask(): Buffer {
    return Buffer.from(partsOf(this).rw1cMask);
  }
}

/** Wraps buffers the caller gives up ownership of into a ConfigSpace. */
export const createSpace = (layout: ConfigLayout, p: SpaceParts): ConfigSpace => new Space(layout, p);

/** The live buffers of a space, for this module's own pure functions (they copy before changing). */
export const partsOf = (space: ConfigSpace): SpaceParts => {
  const p = (space as unknown as { [PARTS]?: SpaceParts })[PARTS];
  if (p === undefined) throw new TypeError('not a ConfigSpace built by buildConfigSpace');
  return p;
};

/** A new space with `bytes` as contents and everything else shared with `space`. */
export const withBytes = (space: ConfigSpace, bytes: Buffer): ConfigSpace => createSpace(space.layout, { ...partsOf(space), bytes });

/** Size of the config space in bytes (256 or 4096). */
export const configSize = (space: ConfigSpace): 256 | 4096 => space.layout.size;

/** Throws a RangeError unless [offset, offset + count) lies inside the space. */
export const checkRange = (space: ConfigSpace, offset: number, count: number, what: string): void => {
  const size = configSize(space);
  const ok = Number.isInteger(offset) && Number.isInteger(count) && offset >= 0 && count >= 0 && offset + count <= size;
  if (!ok) throw new RangeError(`config ${what} of ${count} bytes at 0x${offset.toString(16)} is outside the ${size}-byte space`);
};

/** Reads `count` bytes at `offset` (a fresh Buffer); throws RangeError beyond the space. */
export const readConfig = (space: ConfigSpace, offset: number, count: number): Buffer => {
  checkRange(space, offset, count, 'read');
  return Buffer.from(partsOf(space).bytes.subarray(offset, offset + count));
};

/** Device-side update: stores `data` at `offset` ignoring the guest's masks (status, pending bits). */
export const pokeConfig = (space: ConfigSpace, offset: number, data: Buffer): ConfigSpace => {
  checkRange(space, offset, data.length, 'poke');
  const bytes = Buffer.from(partsOf(space).bytes);
  data.copy(bytes, offset);
  return withBytes(space, bytes);
};

/** Device-side update of the status register's Interrupt bit, which mirrors the INTx line level. */
export const setInterruptStatus = (space: ConfigSpace, asserted: boolean): ConfigSpace => {
  const bytes = Buffer.from(partsOf(space).bytes);
  const status = bytes.readUInt16LE(PciConfig.STATUS);
  bytes.writeUInt16LE(asserted ? status | PciStatus.INTERRUPT : status & ~PciStatus.INTERRUPT, PciConfig.STATUS);
  return withBytes(space, bytes);
};

/** The space as it was built, as after a reset. */
export const resetConfig = (space: ConfigSpace): ConfigSpace => withBytes(space, Buffer.from(partsOf(space).initial));
