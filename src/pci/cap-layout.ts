import { PciSpace } from './registers.js';
import { ExpReg, MsixReg, PmReg, msiCapLength } from './capability-regs.js';
import type { CapSpec, ExtCapSpec, PciDeviceDesc } from './types.js';

/** Rounds up to the dword alignment every capability must start on. */
export const align4 = (n: number): number => (n + 3) & ~3;

/** Bytes a standard capability occupies, its header included. */
export const capLength = (cap: CapSpec): number => {
  switch (cap.kind) {
    case 'pm':
      return PmReg.SIZE;
    case 'msi':
      return msiCapLength(cap.is64 ?? false, cap.maskable ?? false);
    case 'msix':
      return MsixReg.SIZE;
    case 'pcie':
      return ExpReg.SIZE_V2;
    case 'vendor':
      return 3 + cap.bytes.length;
  }
};

/** Bytes an extended capability occupies, its header included. */
export const extCapLength = (cap: ExtCapSpec): number => {
  switch (cap.kind) {
    case 'vendor':
      return 8 + cap.bytes.length;
    case 'dsn':
      return 12;
    case 'raw':
      return 4 + cap.bytes.length;
  }
};

/** Dword-aligned offsets of consecutive blocks starting at `start`, and the end of the last one. */
const pack = (lengths: readonly number[], start: number): { offsets: number[]; end: number } => {
  const offsets: number[] = [];
  let at = start;
  for (const len of lengths) {
    offsets.push(at);
    at = align4(at + len);
  }
  return { offsets, end: at };
};

/** Where each standard capability goes (from 0x40, in the order given) and where the last one ends. */
export const layoutCaps = (caps: readonly CapSpec[]): { offsets: number[]; end: number } =>
  pack(caps.map(capLength), PciSpace.CAP_START);

/** Where each extended capability goes (from 0x100, in the order given) and where the last one ends. */
export const layoutExtCaps = (caps: readonly ExtCapSpec[]): { offsets: number[]; end: number } =>
  pack(caps.map(extCapLength), PciSpace.EXT_CAP_START);

/** The config space size a description yields: forced, or 4 KiB when PCIe or extended caps are present. */
export const resolvedConfigSize = (desc: PciDeviceDesc): 256 | 4096 => {
  if (desc.configSize !== undefined) return desc.configSize;
  const pcie = (desc.capabilities ?? []).some((c) => c.kind === 'pcie');
  const ext = (desc.extendedCapabilities ?? []).length > 0;
  return pcie || ext ? PciSpace.EXP_SIZE : PciSpace.SIZE;
};
