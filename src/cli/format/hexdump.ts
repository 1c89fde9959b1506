/** The hexdump `read` prints: offset-prefixed lines of 16 bytes, with their printable characters. */

const printable = (b: number): string => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.');

/**
 * Lines like `hexdump -C`, offsets counted in the region: `00000010: 68 65 6c 6c 6f 20 77 6f  72 6c 64 ...  |hello world|`.
 * An empty buffer gives no lines.
 */
export const hexdump = (bytes: Buffer, base = 0): string[] => {
  const lines: string[] = [];
  for (let at = 0; at < bytes.length; at += 16) {
    const row = bytes.subarray(at, at + 16);
    const cells = Array.from({ length: 16 }, (_, i) => (i < row.length ? row[i]!.toString(16).padStart(2, '0') : '  '));
    const text = Array.from(row, printable).join('');
    const offset = (base + at).toString(16).padStart(8, '0');
    lines.push(`${offset}: ${cells.slice(0, 8).join(' ')}  ${cells.slice(8).join(' ')}  |${text}|`);
  }
  return lines;
};
