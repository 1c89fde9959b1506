/** Parsing of the CLI's positional values (numbers, region names, hex byte strings), and the names they use. */
import { irqTypeOf } from '../client/index.js';
import type { IrqIndex } from '../protocol/index.js';
import { usageError } from './errors.js';

/** Names of the standard PCI regions, by index (VFIO's order). */
export const REGION_NAMES: readonly string[] = ['bar0', 'bar1', 'bar2', 'bar3', 'bar4', 'bar5', 'rom', 'config', 'vga'];

/** The name of a region index (`bar2`, `config`), or `region<n>` for a device-specific one. */
export const regionName = (index: number): string => REGION_NAMES[index] ?? `region${index}`;

/** A region as a sentence names it: `region bar2`, `region config`, or `region 12` for a device-specific one. */
export const regionLabel = (index: number): string => `region ${REGION_NAMES[index] ?? index}`;

/** The name of an IRQ index (`intx`, `msix`), or `irq<n>` past the PCI ones. */
export const irqName = (index: number): string => (index >= 0 && index < 5 ? irqTypeOf(index as IrqIndex) : `irq${index}`);

/** Lower-case hex with a 0x prefix. */
export const hex = (n: number | bigint): string => `0x${n.toString(16)}`;

/** A non-negative integer written in decimal or with a 0x prefix in hex. */
export const parseNumber = (text: string, what: string): number => {
  const t = text.trim();
  const ok = /^0x[0-9a-f]+$/i.test(t) || /^[0-9]+$/.test(t);
  const value = ok ? Number(t) : NaN;
  if (!Number.isSafeInteger(value)) throw usageError(`${what} "${text}" is not a non-negative integer (decimal, or hex with 0x)`);
  return value;
};

/** A region given by index or by name (`bar0`..`bar5`, `rom`, `config`, `vga`; any case). */
export const parseRegion = (text: string): number => {
  const byName = REGION_NAMES.indexOf(text.trim().toLowerCase());
  if (byName >= 0) return byName;
  if (/^(0x[0-9a-f]+|[0-9]+)$/i.test(text.trim())) return parseNumber(text, 'region');
  throw usageError(`region "${text}" is neither an index nor one of ${REGION_NAMES.join(', ')}`);
};

/**
 * Bytes in memory order as hex digit pairs, optionally separated by spaces, colons or dashes
 * (`01000000`, `de:ad:be:ef`). A 0x prefix is refused: it reads as a number, whose byte order
 * would be a guess.
 */
export const parseHexBytes = (text: string): Buffer => {
  const t = text.trim();
  if (/^0x/i.test(t)) {
    throw usageError(`bytes "${text}": give bytes in memory order without 0x (e.g. 01000000 writes the 32-bit value 1)`);
  }
  const digits = t.replace(/[\s:-]/g, '');
  if (digits.length === 0 || digits.length % 2 !== 0 || !/^[0-9a-f]+$/i.test(digits)) {
    throw usageError(`bytes "${text}" are not pairs of hex digits (e.g. 01000000 or de:ad:be:ef)`);
  }
  return Buffer.from(digits, 'hex');
};

/** A write to do: region, offset, bytes. */
export interface WriteSpec {
  readonly region: number;
  readonly offset: number;
  readonly data: Buffer;
}

/** `REGION:OFFSET:HEXBYTES`, as monitor's --write takes it (e.g. `bar0:0x14:01000000`). */
export const parseWriteSpec = (text: string): WriteSpec => {
  const parts = text.split(':');
  if (parts.length < 3) throw usageError(`write "${text}" is not REGION:OFFSET:HEXBYTES (e.g. bar0:0x14:01000000)`);
  const [region, offset, ...bytes] = parts as [string, string, ...string[]];
  return { region: parseRegion(region), offset: parseNumber(offset, 'offset'), data: parseHexBytes(bytes.join(':')) };
};

/** A positive number of milliseconds, for timeouts and durations. */
export const parseMs = (text: string, what: string): number => {
  const ms = parseNumber(text, what);
  if (ms === 0 && what !== 'timeout') throw usageError(`${what} must be above 0`);
  return ms;
};
