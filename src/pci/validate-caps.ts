import { PciSpace } from './registers.js';
import { MSIX_ENTRY_SIZE, msixPbaSize } from './capability-regs.js';
import { layoutCaps, layoutExtCaps } from './cap-layout.js';
import { ensure, ensureMaskFits, ensureUint, isUint } from './validate-util.js';
import type { BarSpec, CapSpec, ExtCapSpec, MsixCapSpec, PcieCapSpec } from './types.js';

const MSI_VECTORS = [1, 2, 4, 8, 16, 32];
const PAYLOADS = [128, 256, 512, 1024, 2048, 4096];
const LINK_WIDTHS = [1, 2, 4, 8, 12, 16, 32];
const PCIE_TYPES = ['endpoint', 'legacy-endpoint', 'rc-integrated'];

/** Checks one MSI-X structure (table or PBA) lies, qword-aligned, inside a memory BAR. */
const ensureInBar = (
  bars: ReadonlyMap<number, BarSpec>,
  bar: number,
  offset: number,
  length: number,
  field: string,
): void => {
  const spec = bars.get(bar);
  ensure(spec !== undefined && spec.kind === 'memory', `${field}Bar`, `${String(bar)} is not a memory BAR of this device`);
  ensure(isUint(offset, 32) && offset % 8 === 0, `${field}Offset`, `${String(offset)} is not a qword-aligned 32-bit offset`);
  ensure(offset + length <= spec.size, `${field}Offset`, `0x${offset.toString(16)} + ${length} bytes runs past BAR ${bar} (${spec.size} bytes)`);
};

const validateMsix = (cap: MsixCapSpec, bars: ReadonlyMap<number, BarSpec>, field: string): void => {
  ensure(isUint(cap.tableSize, 12) && cap.tableSize >= 1 && cap.tableSize <= 2048, `${field}.tableSize`, `${String(cap.tableSize)} is not 1..2048`);
  const tableLen = cap.tableSize * MSIX_ENTRY_SIZE;
  const pbaLen = msixPbaSize(cap.tableSize);
  ensureInBar(bars, cap.tableBar, cap.tableOffset, tableLen, `${field}.table`);
  ensureInBar(bars, cap.pbaBar, cap.pbaOffset, pbaLen, `${field}.pba`);
  const apart = cap.tableBar !== cap.pbaBar || cap.tableOffset + tableLen <= cap.pbaOffset || cap.pbaOffset + pbaLen <= cap.tableOffset;
  ensure(apart, `${field}.pbaOffset`, 'the PBA overlaps the vector table');
};

const validatePcie = (cap: PcieCapSpec, field: string): void => {
  ensure(PCIE_TYPES.includes(cap.deviceType), `${field}.deviceType`, `${String(cap.deviceType)} is not one of ${PCIE_TYPES.join(', ')}`);
  ensure(PAYLOADS.includes(cap.maxPayload ?? 128), `${field}.maxPayload`, `${String(cap.maxPayload)} is not one of ${PAYLOADS.join(', ')}`);
  if (cap.link === undefined) return;
  ensure(cap.deviceType !== 'rc-integrated', `${field}.link`, 'a root-complex integrated endpoint has no link');
  const { speed, width } = cap.link;
  ensure(isUint(speed, 8) && speed >= 1 && speed <= 6, `${field}.link.speed`, `${String(speed)} is not a generation 1..6`);
  ensure(LINK_WIDTHS.includes(width), `${field}.link.width`, `${String(width)} is not one of ${LINK_WIDTHS.join(', ')}`);
};

const validateCap = (cap: CapSpec, bars: ReadonlyMap<number, BarSpec>, field: string): void => {
  switch (cap.kind) {
    case 'pm':
      return ensureUint(cap.pmeSupport ?? 0, 5, `${field}.pmeSupport`);
    case 'msi':
      return ensure(MSI_VECTORS.includes(cap.vectors), `${field}.vectors`, `${String(cap.vectors)} is not one of ${MSI_VECTORS.join(', ')}`);
    case 'msix':
      return validateMsix(cap, bars, field);
    case 'pcie':
      return validatePcie(cap, field);
    case 'vendor':
      ensureMaskFits(cap.writeMask, cap.bytes, field);
      // The length byte counts the 3 header bytes too.
      return ensure(cap.bytes.length + 3 <= 0xff, `${field}.bytes`, `${cap.bytes.length} bytes do not fit the 8-bit length`);
    default:
      return ensure(false, `${field}.kind`, `${String((cap as { kind: unknown }).kind)} is not a known capability`);
  }
};

/** Checks the standard capabilities: fields, at most one of each kind but vendor, and that they fit 0x40..0xff. */
export const validateCaps = (caps: readonly CapSpec[], bars: ReadonlyMap<number, BarSpec>): void => {
  const seen = new Map<string, number>();
  caps.forEach((cap, i) => {
    const field = `capabilities[${i}]`;
    validateCap(cap, bars, field);
    const prev = seen.get(cap.kind);
    ensure(prev === undefined, field, `a second '${cap.kind}' capability (first is capabilities[${prev}])`);
    if (cap.kind !== 'vendor') seen.set(cap.kind, i);
  });
  const { end } = layoutCaps(caps);
  const room = PciSpace.SIZE - PciSpace.CAP_START;
  ensure(end <= PciSpace.SIZE, 'capabilities', `need ${end - PciSpace.CAP_START} bytes from 0x40 but only ${room} fit`);
};

const validateExtCap = (cap: ExtCapSpec, field: string): void => {
  switch (cap.kind) {
    case 'vendor':
      ensureUint(cap.vsecId, 16, `${field}.vsecId`);
      ensureUint(cap.vsecRev ?? 0, 4, `${field}.vsecRev`);
      ensureMaskFits(cap.writeMask, cap.bytes, field);
      return ensure(cap.bytes.length + 8 <= 0xfff, `${field}.bytes`, `${cap.bytes.length} bytes do not fit the 12-bit VSEC length`);
    case 'dsn':
      return ensure(typeof cap.serial === 'bigint' && cap.serial >= 0n && cap.serial < 1n << 64n, `${field}.serial`, 'is not a 64-bit bigint');
    case 'raw':
      ensureUint(cap.id, 16, `${field}.id`);
      ensure(cap.id !== 0, `${field}.id`, '0 is the null capability');
      ensureUint(cap.version ?? 1, 4, `${field}.version`);
      return ensureMaskFits(cap.writeMask, cap.bytes, field);
    default:
      return ensure(false, `${field}.kind`, `${String((cap as { kind: unknown }).kind)} is not a known extended capability`);
  }
};

/** Checks the extended capabilities: they need 4 KiB config space and must fit 0x100..0xfff. */
export const validateExtCaps = (caps: readonly ExtCapSpec[], configSize: number): void => {
  if (caps.length === 0) return;
  ensure(configSize === PciSpace.EXP_SIZE, 'extendedCapabilities', 'need a 4096-byte config space (configSize is 256)');
  let dsn = false;
  caps.forEach((cap, i) => {
    validateExtCap(cap, `extendedCapabilities[${i}]`);
    ensure(!(dsn && cap.kind === 'dsn'), `extendedCapabilities[${i}]`, 'a second Device Serial Number capability');
    dsn ||= cap.kind === 'dsn';
  });
  const { end } = layoutExtCaps(caps);
  ensure(end <= PciSpace.EXP_SIZE, 'extendedCapabilities', `need ${end - PciSpace.EXT_CAP_START} bytes from 0x100 but only 3840 fit`);
};
