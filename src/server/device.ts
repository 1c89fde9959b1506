/** A device definition turned into what the server serves: config space, regions, IRQ counts. */
import { buildConfigSpace, type BarSpec, type ConfigSpace } from '../pci/index.js';
import type { BarDefinition, PciDeviceOptions } from './definition.js';
import { layoutRegions } from './layout.js';
import type { RegionEntry } from './region-entry.js';
import type { Behaviour, IrqType, MigrationHooks, ResetHook } from './types.js';

export type { RegionBacking, RegionEntry, RegionOverlay } from './region-entry.js';

/** A device ready to serve; immutable, and its runtime state lives in the server. */
export interface PciDevice {
  readonly name: string;
  /** The config space as built (the state every reset returns to). */
  readonly config: ConfigSpace;
  /** Every region by index, at least the 9 PCI ones. */
  readonly regions: readonly RegionEntry[];
  readonly irqCounts: Readonly<Record<IrqType, number>>;
  readonly reset?: ResetHook;
  readonly behaviour?: Behaviour;
  /** How it migrates; undefined when it does not (every DEVICE_FEATURE is then EINVAL). */
  readonly migration?: MigrationHooks;
}

const barSpec = (index: number, bar: BarDefinition): BarSpec => ({
  index,
  size: bar.size,
  kind: bar.kind,
  is64: bar.is64,
  prefetchable: bar.prefetchable,
  mappable: bar.ram !== undefined,
});

/** Size of the ROM region for `contents`: a power of two of at least 2 KiB. */
const romSize = (contents: Buffer): number => 2 ** Math.max(11, Math.ceil(Math.log2(Math.max(contents.length, 1))));

/**
 * Builds a PCI device from its definition. Validates everything up front and throws a
 * PciDescriptionError naming the offending field.
 */
export const pciDevice = (options: PciDeviceOptions): PciDevice => {
  const bars = Object.entries(options.bars ?? {}).flatMap(([i, bar]) => (bar ? [barSpec(Number(i), bar)] : []));
  const config = buildConfigSpace({
    ids: options.ids,
    bars,
    rom: options.rom && { size: romSize(options.rom) },
    interruptPin: options.interruptPin,
    multifunction: options.multifunction,
    capabilities: options.capabilities,
    extendedCapabilities: options.extendedCapabilities,
    configSize: options.configSize,
  });
  const { layout } = config;
  const irqCounts = {
    intx: (options.interruptPin ?? 0) > 0 ? 1 : 0,
    msi: layout.msi?.vectors ?? 0,
    msix: layout.msix?.tableSize ?? 0,
    err: options.irqs?.err === false ? 0 : 1,
    req: options.irqs?.req === false ? 0 : 1,
  };
  const name = options.name ?? `pci-${hex4(options.ids.vendorId)}-${hex4(options.ids.deviceId)}`;
  return Object.freeze({
    name,
    config,
    regions: layoutRegions(options, config, romSize),
    irqCounts: Object.freeze(irqCounts),
    reset: options.reset,
    behaviour: options.behaviour,
    migration: options.migration === false ? undefined : Object.freeze({ ...(options.migration ?? {}) }),
  });
};

const hex4 = (n: number): string => n.toString(16).padStart(4, '0');
