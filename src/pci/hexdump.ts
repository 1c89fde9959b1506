import { hex } from './format-util.js';

/**
 * Dumps config space as the hex lines of `lspci -xxx`: 16 bytes a line, `00: 86 80 ...`. A 4 KiB
 * space gets three-digit offsets on every line (`000:`), a form `lspci -F` also accepts (it takes
 * `##:` and `###:` lines after a device line).
 */
export const hexdumpConfig = (bytes: Buffer): string[] => {
  const width = bytes.length > 256 ? 3 : 2;
  const lines: string[] = [];
  for (let off = 0; off < bytes.length; off += 16) {
    const row = Array.from(bytes.subarray(off, off + 16), (b) => hex(b, 2)).join(' ');
    lines.push(`${hex(off, width)}: ${row}`);
  }
  return lines;
};
