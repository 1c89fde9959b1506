import { PciLimits } from './registers.js';
import { resolvedConfigSize } from './cap-layout.js';
import { validateCaps, validateExtCaps } from './validate-caps.js';
import { ensure, ensureUint, isPowerOfTwo, isUint } from './validate-util.js';
import type { BarSpec, PciDeviceDesc, PciIdentity, RomSpec } from './types.js';

const validateIds = (ids: PciIdentity | undefined): void => {
  ensure(ids !== undefined && ids !== null, 'ids', 'is required');
  ensureUint(ids.vendorId, 16, 'ids.vendorId');
  // 0xffff is what a read of an absent function returns; no device may claim it.
  ensure(ids.vendorId !== 0xffff, 'ids.vendorId', '0xffff means "no device"');
  ensureUint(ids.deviceId, 16, 'ids.deviceId');
  ensureUint(ids.subsystemVendorId ?? 0, 16, 'ids.subsystemVendorId');
  ensureUint(ids.subsystemId ?? 0, 16, 'ids.subsystemId');
  ensureUint(ids.revision ?? 0, 8, 'ids.revision');
  ensureUint(ids.classCode, 24, 'ids.classCode');
};

const validateBar = (bar: BarSpec, field: string): void => {
  ensure(isUint(bar.index, 32) && bar.index <= 5, `${field}.index`, `${String(bar.index)} is not a BAR number 0..5`);
  ensure(bar.kind === 'memory' || bar.kind === 'io', `${field}.kind`, `${String(bar.kind)} is not 'memory' or 'io'`);
  ensure(isPowerOfTwo(bar.size), `${field}.size`, `${String(bar.size)} is not a power of two`);
  if (bar.kind === 'io') {
    ensure(bar.size >= PciLimits.IO_BAR_MIN, `${field}.size`, `an I/O BAR is at least ${PciLimits.IO_BAR_MIN} bytes`);
    ensure(bar.size <= PciLimits.IO_BAR_MAX, `${field}.size`, `an I/O BAR is at most ${PciLimits.IO_BAR_MAX} bytes`);
    ensure(!bar.is64, `${field}.is64`, 'an I/O BAR cannot be 64-bit');
    ensure(!bar.prefetchable, `${field}.prefetchable`, 'an I/O BAR cannot be prefetchable');
    return;
  }
  ensure(bar.size >= PciLimits.MEM_BAR_MIN, `${field}.size`, `a memory BAR is at least ${PciLimits.MEM_BAR_MIN} bytes`);
  if (bar.is64) {
    ensure(bar.index < 5, `${field}.is64`, 'a 64-bit BAR needs index + 1, and BAR 5 is the last');
  } else {
    ensure(bar.size <= PciLimits.MEM32_BAR_MAX, `${field}.size`, 'a 32-bit memory BAR is at most 2 GiB (use is64)');
  }
};

/** Validates the BARs and returns them by index. */
const validateBars = (bars: readonly BarSpec[]): Map<number, BarSpec> => {
  const byIndex = new Map<number, BarSpec>();
  const owner = new Map<number, number>();
  bars.forEach((bar, i) => {
    const field = `bars[${i}]`;
    validateBar(bar, field);
    for (const slot of bar.is64 ? [bar.index, bar.index + 1] : [bar.index]) {
      const prev = owner.get(slot);
      ensure(prev === undefined, `${field}.index`, `BAR register ${slot} is already used by bars[${prev}]`);
      owner.set(slot, i);
    }
    byIndex.set(bar.index, bar);
  });
  return byIndex;
};

const validateRom = (rom: RomSpec | undefined): void => {
  if (rom === undefined) return;
  ensure(isPowerOfTwo(rom.size), 'rom.size', `${String(rom.size)} is not a power of two`);
  ensure(rom.size >= PciLimits.ROM_MIN, 'rom.size', `an expansion ROM is at least ${PciLimits.ROM_MIN} bytes`);
  ensure(rom.size <= PciLimits.ROM_MAX, 'rom.size', 'an expansion ROM is at most 2 GiB');
};

/** Checks a device description and throws a PciDescriptionError naming the first bad field. */
export const validateDescription = (desc: PciDeviceDesc): void => {
  validateIds(desc.ids);
  const bars = validateBars(desc.bars ?? []);
  validateRom(desc.rom);
  ensure(isUint(desc.interruptPin ?? 0, 8) && (desc.interruptPin ?? 0) <= 4, 'interruptPin', `${String(desc.interruptPin)} is not 0..4`);
  const size = desc.configSize;
  ensure(size === undefined || size === 256 || size === 4096, 'configSize', `${String(size)} is not 256 or 4096`);
  validateCaps(desc.capabilities ?? [], bars);
  validateExtCaps(desc.extendedCapabilities ?? [], resolvedConfigSize(desc));
};
