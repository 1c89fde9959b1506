/** Turns the region benchmark's batches into its table, goal lines and JSON. */
import { goal, goalLine, type GoalResult } from '../lib/goals.js';
import { pairedRatios } from '../lib/interleave.js';
import { concatSamples, median, summarize, type Summary } from '../lib/stats.js';
import { markdownTable, ratioCell, type Cell } from '../lib/table.js';
import { DEPTHS, Key, type RegionBatch } from './runners.js';

/** What one runner measured, pooled over its batches. */
export interface Pooled {
  readonly batches: number;
  /** Latency in microseconds, when timed one by one. */
  readonly latencyUs?: Summary;
  /** Operations per second of each batch, in cycle order. */
  readonly ratePerBatch: readonly number[];
  /** Median of ratePerBatch. */
  readonly rate: number;
  /** Median latency of each batch, in cycle order (latency runners only). */
  readonly batchMedianUs?: readonly number[];
}

/** Pools one runner's batches. */
export const poolBatches = (batches: readonly RegionBatch[]): Pooled => {
  const ratePerBatch = batches.map((b) => (b.count * 1000) / b.elapsedMs);
  const timed = batches.filter((b) => b.latencyUs !== undefined);
  return {
    batches: batches.length,
    ratePerBatch,
    rate: median(ratePerBatch),
    ...(timed.length === batches.length && timed.length > 0
      ? { latencyUs: summarize(concatSamples(timed.map((b) => b.latencyUs!))), batchMedianUs: timed.map((b) => median(b.latencyUs!)) }
      : {}),
  };
};

const kops = (rate: number | undefined): Cell => (rate === undefined ? null : (rate / 1000).toFixed(1));

/** Bounds of the goals (see the benchmark issue). */
export const GOALS = { syncOverC: 2.0, depth64OverSync: 4, postedOverSync: 15 } as const;

/** The report's text and data; `pooled` is keyed by runner key, `postedMix` counts the messages of a posted batch. */
export const regionReport = (
  pooled: ReadonlyMap<string, Pooled>,
  setup: string,
  skipped: string | undefined,
  postedMix: { readonly default: Record<string, number>; readonly coalesceAll: Record<string, number> },
  postedCount: number,
) => {
  const c = pooled.get(Key.C);
  const rs = pooled.get(Key.READ_SYNC)!;
  const ws = pooled.get(Key.WRITE_SYNC)!;
  const posted = pooled.get(Key.POSTED)!;
  const d64 = pooled.get(Key.READ_D64)!;
  const latencyRow = (label: string, p: Pooled | undefined, vsC: boolean): Cell[] => [
    label,
    'us',
    p?.latencyUs?.median ?? null,
    p?.latencyUs?.p99 ?? null,
    vsC ? `C round trip ${c ? c.latencyUs!.median.toFixed(1) : 'n/a'} us` : '',
    vsC ? ratioCell(p?.latencyUs?.median, c?.latencyUs?.median) : '',
  ];
  const rateRow = (label: string, p: Pooled, base?: { name: string; p: Pooled }): Cell[] => [
    label,
    'kops/s',
    kops(p.rate),
    null,
    base ? `${base.name} ${kops(base.p.rate)} kops/s` : '',
    base ? ratioCell(p.rate, base.p.rate) : '',
  ];
  const rows: Cell[][] = [
    latencyRow('C ping-pong round trip (16 B, blocking, forked echo)', c, false),
    latencyRow('REGION_READ 4 B, synchronous (await each)', rs, true),
    latencyRow('REGION_WRITE 4 B, synchronous (await each reply)', ws, true),
    rateRow('REGION_READ 4 B, synchronous rate', rs),
    ...DEPTHS.map(([depth, key]) => rateRow(`REGION_READ 4 B, pipelined, depth ${depth}`, pooled.get(key)!, { name: 'sync read', p: rs })),
    rateRow('REGION_WRITE 4 B, synchronous rate', ws),
    rateRow('REGION_WRITE 4 B, posted, then one fence', posted, { name: 'sync write', p: ws }),
    rateRow('same, client option writeMultiThreshold 0', pooled.get(Key.POSTED_ALL)!, { name: 'sync write', p: ws }),
  ];
  const table = markdownTable(['measurement', 'unit', 'median', 'p99', 'baseline', 'ratio'], rows, { digits: 1 });
  const goals: GoalResult[] = [
    goal(
      `Synchronous REGION_READ at most ${GOALS.syncOverC}x the C ping-pong round trip`,
      c && rs.latencyUs ? rs.latencyUs.median / c.latencyUs!.median : undefined,
      { atMost: GOALS.syncOverC },
      c ? pairedRatios(rs.batchMedianUs!, c.batchMedianUs!) : undefined,
      c ? undefined : `no C baseline: ${skipped}`,
    ),
    goal(`Pipelined REGION_READ at depth 64 at least ${GOALS.depth64OverSync}x the synchronous rate`, d64.rate / rs.rate, { atLeast: GOALS.depth64OverSync }, pairedRatios(d64.ratePerBatch, rs.ratePerBatch)),
    goal(`Posted writes at least ${GOALS.postedOverSync}x the synchronous write rate`, posted.rate / ws.rate, { atLeast: GOALS.postedOverSync }, pairedRatios(posted.ratePerBatch, ws.ratePerBatch)),
  ];
  const mix = (m: Record<string, number>) =>
    Object.entries(m)
      .map(([name, n]) => `${n} ${name}`)
      .join(', ');
  const lines = [
    setup,
    ...(skipped ? [`C baseline skipped: ${skipped}`] : []),
    '',
    table,
    '',
    `A separate traced batch of ${postedCount} posted writes left as: ${mix(postedMix.default)}; with writeMultiThreshold 0: ` +
      `${mix(postedMix.coalesceAll)} (a REGION_WRITE_MULTI carries up to 200 writes; the DEVICE_GET_INFO is the fence).`,
    '',
    'Goals:',
    ...goals.map(goalLine),
  ];
  return { text: lines.join('\n'), data: { setup, skipped, goals, postedMix, postedCount, runners: Object.fromEntries(pooled) } };
};
