/** Turns the dma benchmark's batches into its table, goal lines and JSON. */
import { goal, goalLine, type GoalResult } from '../lib/goals.js';
import { pairedRatios } from '../lib/interleave.js';
import { median } from '../lib/stats.js';
import { markdownTable, ratioCell, type Cell } from '../lib/table.js';
import { runnerKey, type DmaBatch, type DmaKind } from './runners.js';

/** GB/s (10^9 bytes per second) of each batch, in cycle order, and their median. */
export interface Rates {
  readonly perBatch: readonly number[];
  readonly median: number;
}

const gbps = (b: DmaBatch): number => b.bytes / (b.ms * 1e6);

/** Rates of one runner's batches. */
export const rates = (batches: readonly DmaBatch[]): Rates => {
  const perBatch = batches.map(gbps);
  return { perBatch, median: median(perBatch) };
};

/** Bounds of the goals (see the benchmark issue). */
export const GOALS = { mappedOverCopy: 0.8, messageGbps: 1 } as const;

const KINDS: readonly DmaKind[] = ['fd-read', 'fd-write', 'message-read', 'message-write'];

const sizeLabel = (size: number): string => (size >= 1 << 20 ? `${size / (1 << 20)} MiB` : `${size / 1024} KiB`);

/** The report's text and data; `byKey` holds the rates of every runner. */
export const dmaReport = (byKey: ReadonlyMap<string, Rates>, sizes: readonly number[], setup: string) => {
  const at = (kind: DmaKind | 'copy', size: number) => byKey.get(runnerKey(kind as DmaKind, size))!;
  const rows: Cell[][] = sizes.map((size) => {
    const copy = at('copy', size).median;
    return [sizeLabel(size), copy, ...KINDS.flatMap((k) => [at(k, size).median, ratioCell(at(k, size).median, copy)])];
  });
  const headers = ['size', 'Buffer.copy GB/s', 'fd read GB/s', 'x copy', 'fd write GB/s', 'x copy', 'msg read GB/s', 'x copy', 'msg write GB/s', 'x copy'];
  const table = markdownTable(headers, rows, { digits: 2 });
  const largest = Math.max(...sizes);
  // One verdict per direction at the largest size (where the copy itself dominates), every size listed beside it.
  const mapped = (['fd-read', 'fd-write'] as const).map((k) => {
    const bySize = sizes.map((size) => ({ size, ratio: at(k, size).median / at('copy', size).median }));
    const met = bySize.filter((x) => x.ratio >= GOALS.mappedOverCopy).map((x) => sizeLabel(x.size));
    return goal(
      `DMA ${k === 'fd-read' ? 'read' : 'write'} through the fd mapping at least ${GOALS.mappedOverCopy}x Buffer.copy, at ${sizeLabel(largest)}`,
      at(k, largest).median / at('copy', largest).median,
      { atLeast: GOALS.mappedOverCopy },
      pairedRatios(at(k, largest).perBatch, at('copy', largest).perBatch),
      `by size: ${bySize.map((x) => `${sizeLabel(x.size)} ${x.ratio.toFixed(2)}x`).join(', ')} (met at ${met.length ? met.join(', ') : 'none'})`,
    );
  });
  const goals: GoalResult[] = [
    ...mapped,
    ...(['message-read', 'message-write'] as const).map((k) =>
      goal(
        `DMA ${k === 'message-read' ? 'read' : 'write'} through messages, ${sizeLabel(largest)} chunks: at least ${GOALS.messageGbps} GB/s (ratio to 1 GB/s)`,
        at(k, largest).median / GOALS.messageGbps,
        { atLeast: 1 },
        at(k, largest).perBatch.map((r) => r / GOALS.messageGbps),
      ),
    ),
  ];
  const lines = [setup, '', table, '', 'Goals:', ...goals.map(goalLine)];
  return { text: lines.join('\n'), data: { setup, sizes, goals, rates: Object.fromEntries(byKey) } };
};
