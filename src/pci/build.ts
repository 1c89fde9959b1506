import { PciBarBits, PciCommand, PciConfig, PciHeaderType, PciRomBits, PciSpace, PciStatus, barOffset } from './registers.js';
import { ConfigBuilder } from './builder.js';
import { buildCap } from './build-caps.js';
import { buildExtCap } from './build-ext-caps.js';
import { layoutCaps, layoutExtCaps, resolvedConfigSize } from './cap-layout.js';
import { regionsOf, type BarRegion } from './bar-layout.js';
import { createSpace, type ConfigLayout, type ConfigSpace } from './space.js';
import { validateDescription } from './validate.js';
import type { CapSpec, ExtCapSpec, PciDeviceDesc } from './types.js';

/** Command bits the guest may change (the rest are hardwired to 0 for a modern function). */
const COMMAND_WRITABLE =
  PciCommand.IO | PciCommand.MEMORY | PciCommand.MASTER | PciCommand.PARITY | PciCommand.SERR | PciCommand.INTX_DISABLE;

const buildHeader = (b: ConfigBuilder, desc: PciDeviceDesc, hasCaps: boolean, express: boolean): void => {
  const { ids } = desc;
  b.set(PciConfig.VENDOR_ID, 2, ids.vendorId).set(PciConfig.DEVICE_ID, 2, ids.deviceId);
  b.writable(PciConfig.COMMAND, 2, COMMAND_WRITABLE);
  b.set(PciConfig.STATUS, 2, hasCaps ? PciStatus.CAP_LIST : 0).rw1c(PciConfig.STATUS, 2, PciStatus.RW1C);
  b.set(PciConfig.REVISION, 1, ids.revision ?? 0);
  b.set(PciConfig.CLASS_PROG, 1, ids.classCode & 0xff);
  b.set(PciConfig.CLASS_SUB, 2, ids.classCode >> 8);
  b.writable(PciConfig.CACHE_LINE, 1, 0xff);
  // PCI Express hardwires the latency timer to 0.
  if (!express) b.writable(PciConfig.LATENCY, 1, 0xff);
  b.set(PciConfig.HEADER_TYPE, 1, PciHeaderType.NORMAL | (desc.multifunction ? PciHeaderType.MULTIFUNCTION : 0));
  b.set(PciConfig.SUBSYSTEM_VENDOR_ID, 2, ids.subsystemVendorId ?? 0);
  b.set(PciConfig.SUBSYSTEM_ID, 2, ids.subsystemId ?? 0);
  b.set(PciConfig.CAPABILITY_LIST, 1, hasCaps ? PciSpace.CAP_START : 0);
  b.writable(PciConfig.INTERRUPT_LINE, 1, 0xff);
  b.set(PciConfig.INTERRUPT_PIN, 1, desc.interruptPin ?? 0);
};

const buildBar = (b: ConfigBuilder, r: BarRegion): void => {
  if (r.kind === 'rom') {
    b.writable(PciConfig.ROM_ADDRESS, 4, (Number(r.sizeMask) & PciRomBits.ADDRESS_MASK) | PciRomBits.ENABLE);
    return;
  }
  const off = barOffset(r.index);
  if (r.kind === 'io') {
    b.set(off, 4, PciBarBits.SPACE_IO).writable(off, 4, Number(r.sizeMask));
    return;
  }
  const type = (r.is64 ? PciBarBits.MEM_TYPE_64 : 0) | (r.prefetchable ? PciBarBits.PREFETCH : 0);
  b.set(off, 4, type).writable(off, 4, Number(r.sizeMask & 0xffffffffn));
  if (r.is64) b.writable(off + 4, 4, Number(r.sizeMask >> 32n));
};

/** Lays the capability list out from 0x40 and records where the emulated ones went. */
const buildCapList = (b: ConfigBuilder, caps: readonly CapSpec[]): Omit<ConfigLayout, 'size' | 'regions'> => {
  const { offsets } = layoutCaps(caps);
  const found: { -readonly [K in keyof ConfigLayout]?: ConfigLayout[K] } = {};
  caps.forEach((cap, i) => {
    const offset = offsets[i] as number;
    buildCap(b, offset, cap, offsets[i + 1] ?? 0);
    if (cap.kind === 'pm') found.pm = Object.freeze({ offset, d1: cap.d1 ?? false, d2: cap.d2 ?? false });
    if (cap.kind === 'msi') {
      const { is64 = false, maskable = false, vectors } = cap;
      found.msi = Object.freeze({ offset, is64, maskable, vectors });
    }
    if (cap.kind === 'pcie') found.pcie = Object.freeze({ offset, flr: cap.flr ?? false });
    if (cap.kind === 'msix') {
      const { tableSize, tableBar, tableOffset, pbaBar, pbaOffset } = cap;
      found.msix = Object.freeze({ offset, tableSize, tableBar, tableOffset, pbaBar, pbaOffset });
    }
  });
  return found;
};

const buildExtCapList = (b: ConfigBuilder, caps: readonly ExtCapSpec[]): void => {
  const { offsets } = layoutExtCaps(caps);
  caps.forEach((cap, i) => buildExtCap(b, offsets[i] as number, cap, offsets[i + 1] ?? 0));
};

/** Validates a description and builds its config space: contents, guest write mask, RW1C mask, layout. */
export const buildConfigSpace = (desc: PciDeviceDesc): ConfigSpace => {
  validateDescription(desc);
  const size = resolvedConfigSize(desc);
  const caps = desc.capabilities ?? [];
  const b = new ConfigBuilder(size);
  buildHeader(b, desc, caps.length > 0, caps.some((c) => c.kind === 'pcie'));
  const regions = regionsOf(desc);
  regions.forEach((r) => buildBar(b, r));
  const capLayout = buildCapList(b, caps);
  buildExtCapList(b, desc.extendedCapabilities ?? []);
  const layout: ConfigLayout = Object.freeze({ size, regions, ...capLayout });
  return createSpace(layout, { bytes: b.bytes, writeMask: b.writeMask, rw1cMask: b.rw1cMask, initial: Buffer.from(b.bytes) });
};
