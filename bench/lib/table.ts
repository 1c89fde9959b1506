/** Markdown tables for benchmark reports. */

/** A cell: text as is, a number formatted by the table's `digits`, or null for "n/a". */
export type Cell = string | number | null;

/** Options of a table. */
export interface TableOptions {
  /** Digits after the point for numbers (default 1). */
  readonly digits?: number;
}

const format = (cell: Cell, digits: number): string => {
  if (cell === null) return 'n/a';
  if (typeof cell === 'string') return cell;
  return Number.isFinite(cell) ? cell.toFixed(digits) : 'n/a';
};

// Numbers, ratios such as "1.08x", pairs such as "5.9 (1.2)" and "n/a" are figures: right-aligned.
const FIGURE = /^(n\/a|[-+]?\d+(\.\d+)?(x| \([-+]?\d+(\.\d+)?\))?)$/;

/** Renders a markdown table with padded columns, readable as plain text too. */
export const markdownTable = (headers: readonly string[], rows: readonly (readonly Cell[])[], options: TableOptions = {}): string => {
  const digits = options.digits ?? 1;
  const text = rows.map((row) => headers.map((_, c) => format(row[c] ?? null, digits)));
  const numeric = headers.map((_, c) => text.length > 0 && text.every((row) => FIGURE.test(row[c]!)));
  const widths = headers.map((h, c) => Math.max(3, h.length, ...text.map((row) => row[c]!.length)));
  const pad = (s: string, c: number) => (numeric[c] ? s.padStart(widths[c]!) : s.padEnd(widths[c]!));
  const line = (cells: readonly string[]) => `| ${cells.map(pad).join(' | ')} |`;
  const rule = `|${widths.map((w, c) => (numeric[c] ? `${'-'.repeat(w + 1)}:` : `${'-'.repeat(w + 2)}`)).join('|')}|`;
  return [line(headers), rule, ...text.map(line)].join('\n');
};

/** A ratio cell such as "1.08x" (n/a when either side is missing), for figures beside a baseline. */
export const ratioCell = (value: number | undefined, baseline: number | undefined): Cell =>
  value !== undefined && baseline !== undefined && baseline > 0 && Number.isFinite(value) ? `${(value / baseline).toFixed(2)}x` : null;
