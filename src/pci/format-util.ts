/** Small text helpers shared by the lspci-like formatters. */

/** Lower-case hex of `n`, zero-padded to `width` digits. */
export const hex = (n: number | bigint, width: number): string => n.toString(16).padStart(width, '0');

/** lspci's flag notation: `Name+` when set, `Name-` when clear. */
export const flag = (name: string, on: boolean): string => `${name}${on ? '+' : '-'}`;

const UNITS = ['', 'K', 'M', 'G', 'T', 'P'];

/** A size the way lspci prints it: the largest binary unit that divides it exactly (4096 -> `4K`). */
export const sizeText = (size: number | bigint): string => {
  let n = BigInt(size);
  let unit = 0;
  while (unit < UNITS.length - 1 && n >= 1024n && n % 1024n === 0n) {
    n /= 1024n;
    unit++;
  }
  return `${n}${UNITS[unit] as string}`;
};

/** PCI Express link speed of a generation number (1 = 2.5GT/s). */
export const linkSpeedText = (gen: number): string =>
  ['2.5GT/s', '5GT/s', '8GT/s', '16GT/s', '32GT/s', '64GT/s'][gen - 1] ?? `unknown (${gen})`;
