/** Flag words of the info replies, spelled as the spec names them. */
import { DeviceFlags, IrqInfoFlags, RegionFlags } from '../../protocol/index.js';
import { hex } from '../args.js';

/** The names of the bits set in `value`, from a table of single-bit flags; unknown bits in hex. */
export const flagNames = (value: number, table: Readonly<Record<string, number>>): string[] => {
  const known = Object.entries(table).filter(([, bit]) => (value & bit) !== 0);
  const rest = known.reduce((v, [, bit]) => v & ~bit, value) >>> 0;
  return [...known.map(([name]) => name), ...(rest ? [hex(rest)] : [])];
};

const words = (value: number, table: Readonly<Record<string, number>>): string => {
  const names = flagNames(value, table);
  return names.length ? `${hex(value)} (${names.join(' ')})` : hex(value);
};

/** Device flags, e.g. `0x3 (RESET PCI)`. */
export const deviceFlags = (flags: number): string => words(flags, DeviceFlags);

/** Region flags, e.g. `0x3 (READ WRITE)`. */
export const regionFlags = (flags: number): string => words(flags, RegionFlags);

/** IRQ info flags, e.g. `0x3 (EVENTFD MASKABLE)`. */
export const irqFlags = (flags: number): string => words(flags, IrqInfoFlags);

/** The tables, for JSON output. */
export const FLAG_TABLES = { device: DeviceFlags, region: RegionFlags, irq: IrqInfoFlags } as const;
