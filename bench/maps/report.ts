/** Turns the maps benchmark's runs into its table, goal lines and JSON. */
import { goal, goalLine, type GoalResult } from '../lib/goals.js';
import { pairedRatios } from '../lib/interleave.js';
import { summarize, type Summary } from '../lib/stats.js';
import { markdownTable, ratioCell, type Cell } from '../lib/table.js';
import type { MapsRun } from './runners.js';

/** Keys and labels of the runners, in table order. */
export const VARIANTS = [
  ['round-trips', 'bare round trips (DEVICE_GET_INFO, each awaited): the baseline'],
  ['memory-only', 'guest memory alone, no client: add in one transaction, remove in one'],
  ['transaction-fd', 'one transaction of adds, one of removes; fd mode (a memfd per DMA_MAP)'],
  ['transaction-message', 'one transaction of adds, one of removes; message mode (no fds)'],
  ['one-by-one-fd', 'one add per transaction, each awaited, then removes alike; fd mode'],
  ['one-by-one-message', 'one add per transaction, each awaited, then removes alike; message mode'],
] as const;

/** Pooled figures of one runner. */
export interface MapsPooled {
  readonly totalMs: Summary;
  readonly mapMs: Summary;
  readonly unmapMs: Summary;
  /** Total of each run, in cycle order. */
  readonly totals: readonly number[];
}

/** Pools the runs of one runner. */
export const poolRuns = (runs: readonly MapsRun[]): MapsPooled => {
  const totals = runs.map((r) => r.mapMs + r.unmapMs);
  return { totalMs: summarize(totals), mapMs: summarize(runs.map((r) => r.mapMs)), unmapMs: summarize(runs.map((r) => r.unmapMs)), totals };
};

/** The bound of the goal: the transaction against the bare round trips. */
export const GOAL_RATIO = 10;

/** The report's text and data. */
export const mapsReport = (pooled: ReadonlyMap<string, MapsPooled>, count: number, setup: string) => {
  const base = pooled.get('round-trips')!;
  const rows: Cell[][] = VARIANTS.map(([key, label]) => {
    const p = pooled.get(key)!;
    const split = key !== 'round-trips';
    return [
      label,
      p.totalMs.median,
      p.totalMs.min,
      split ? p.mapMs.median : null,
      split ? p.unmapMs.median : null,
      (p.totalMs.median * 1000) / count,
      ratioCell(p.totalMs.median, base.totalMs.median),
    ];
  });
  const table = markdownTable(['run', 'total ms (median)', 'total ms (min)', 'map ms', 'unmap ms', 'us per section', 'x round trips'], rows, {
    digits: 1,
  });
  const goals: GoalResult[] = (['fd', 'message'] as const).map((mode) => {
    const t = pooled.get(`transaction-${mode}`)!;
    return goal(
      `${count} maps plus unmaps as one transaction (${mode} mode) under ${GOAL_RATIO}x the time of ${count} bare round trips`,
      t.totalMs.median / base.totalMs.median,
      { atMost: GOAL_RATIO },
      pairedRatios(t.totals, base.totals),
    );
  });
  const lines = [setup, '', table, '', 'Goals:', ...goals.map(goalLine)];
  return { text: lines.join('\n'), data: { setup, count, goals, runners: Object.fromEntries(pooled) } };
};
