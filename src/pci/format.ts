import { PciCommand, PciStatus } from './registers.js';
import { baseClassName } from './capability-ids.js';
import { flag, hex, sizeText } from './format-util.js';
import { formatCapability, formatExtCapability } from './format-caps.js';
import type { ParsedBar, ParsedConfig } from './parse.js';

/** Sizes the caller knows (from region info), which config bytes alone cannot tell. */
export interface FormatOptions {
  /**
   * Size of each BAR by index: a BAR with a size is shown even when its register reads 0, one of size
   * 0 is not shown at all; an index without an entry is judged by its register.
   */
  readonly barSizes?: readonly (number | bigint | undefined)[];
  readonly romSize?: number;
}

const controlLine = (c: number): string => {
  const bits: [string, number][] = [
    ['I/O', PciCommand.IO], ['Mem', PciCommand.MEMORY], ['BusMaster', PciCommand.MASTER], ['SpecCycle', PciCommand.SPECIAL],
    ['MemWINV', PciCommand.INVALIDATE], ['VGASnoop', PciCommand.VGA_PALETTE], ['ParErr', PciCommand.PARITY],
    ['Stepping', PciCommand.WAIT], ['SERR', PciCommand.SERR], ['FastB2B', PciCommand.FAST_BACK], ['DisINTx', PciCommand.INTX_DISABLE],
  ];
  return `Control: ${bits.map(([name, bit]) => flag(name, (c & bit) !== 0)).join(' ')}`;
};

const statusLine = (s: number): string => {
  const devsel = ['fast', 'medium', 'slow', '??'][(s & PciStatus.DEVSEL_MASK) >> 9] as string;
  const on = (bit: number): boolean => (s & bit) !== 0;
  return [
    'Status:', flag('Cap', on(PciStatus.CAP_LIST)), flag('66MHz', on(PciStatus.MHZ66)), flag('UDF', on(PciStatus.UDF)),
    flag('FastB2B', on(PciStatus.FAST_BACK)), flag('ParErr', on(PciStatus.PARITY)), `DEVSEL=${devsel}`,
    flag('>TAbort', on(PciStatus.SIG_TARGET_ABORT)), flag('<TAbort', on(PciStatus.REC_TARGET_ABORT)),
    flag('<MAbort', on(PciStatus.REC_MASTER_ABORT)), flag('>SERR', on(PciStatus.SIG_SYSTEM_ERROR)),
    flag('<PERR', on(PciStatus.DETECTED_PARITY)), flag('INTx', on(PciStatus.INTERRUPT)),
  ].join(' ');
};

const barLine = (bar: ParsedBar, size: number | bigint | undefined): string | undefined => {
  // A BAR known to have size 0 does not exist on the device, whatever type bits its register shows (as lspci).
  if (size === 0 || size === 0n || (bar.raw === 0 && !size)) return undefined;
  const sized = size ? ` [size=${sizeText(size)}]` : '';
  if (bar.kind === 'io') return `Region ${bar.index}: I/O ports at ${bar.address ? hex(bar.address, 4) : '<unassigned>'}${sized}`;
  const type = `${bar.is64 ? '64-bit' : '32-bit'}, ${bar.prefetchable ? 'prefetchable' : 'non-prefetchable'}`;
  return `Region ${bar.index}: Memory at ${bar.address ? hex(bar.address, 8) : '<unassigned>'} (${type})${sized}`;
};

const romLine = (p: ParsedConfig, size: number | undefined): string | undefined => {
  if (p.romAddress === 0 && !size) return undefined;
  const at = p.romAddress ? hex(p.romAddress, 8) : '<unassigned>';
  return `Expansion ROM at ${at}${p.romEnabled ? '' : ' [disabled]'}${size ? ` [size=${sizeText(size)}]` : ''}`;
};

/** Describes parsed config space in lines like `lspci -vv` (details of capabilities indented by a tab). */
export const formatConfig = (p: ParsedConfig, options: FormatOptions = {}): string[] => {
  const lines = [
    `Vendor ${hex(p.vendorId, 4)} Device ${hex(p.deviceId, 4)}${p.revision ? ` (rev ${hex(p.revision, 2)})` : ''}`,
    `Class ${hex(p.classCode >> 8, 4)}: ${baseClassName(p.baseClass)}${p.progIf ? ` (prog-if ${hex(p.progIf, 2)})` : ''}`,
  ];
  if (p.subsystemVendorId || p.subsystemId) lines.push(`Subsystem: Vendor ${hex(p.subsystemVendorId, 4)} Device ${hex(p.subsystemId, 4)}`);
  if (p.headerType || p.multifunction) lines.push(`Header type ${hex(p.headerType, 2)}${p.multifunction ? ' (multi-function)' : ''}`);
  lines.push(controlLine(p.command), statusLine(p.status));
  if (p.interruptPin) lines.push(`Interrupt: pin ${'ABCD'[p.interruptPin - 1] ?? '?'} routed to IRQ ${p.interruptLine}`);
  for (const bar of p.bars) {
    const line = barLine(bar, options.barSizes?.[bar.index]);
    if (line) lines.push(line);
  }
  const rom = romLine(p, options.romSize);
  if (rom) lines.push(rom);
  lines.push(...p.capabilities.flatMap(formatCapability), ...p.extendedCapabilities.map(formatExtCapability));
  lines.push(...p.warnings.map((w) => `Warning: ${w}`));
  return lines;
};
