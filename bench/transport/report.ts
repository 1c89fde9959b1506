/** Turns the rounds of every variant into the transport benchmark's table, goal line and JSON. */
import { concatSamples, summarize, type Summary } from '../lib/stats.js';
import { markdownTable, ratioCell } from '../lib/table.js';
import { BARE, C, FRAME, type Batch, type Cpu, type Variant } from './variants.js';

/** The goal the framework is held to: its median round trip over the bare channel's. */
export const GOAL_RATIO = 1.15;
const GOAL = `frame layer with correlation: at most ${GOAL_RATIO}x the bare native channel's round trip`;

/** Everything measured for one variant, pooled over its rounds. */
export interface VariantResult {
  readonly key: string;
  readonly label: string;
  readonly rtt: Summary;
  /** Median of each batch, in run order (batch i of every variant ran in the same cycle). */
  readonly batchMedians: readonly number[];
  /** CPU microseconds per round trip, each side. */
  readonly cpuPerRoundTrip: { readonly parentUser: number; readonly parentSystem: number; readonly peerUser: number; readonly peerSystem: number };
}

/** Pools the batches of one variant; `peer` is the echoing side's CPU over all of them. */
export const pool = (variant: Variant, batches: readonly Batch[], peer: Cpu): VariantResult => {
  const count = batches.reduce((n, b) => n + b.rtt.length, 0);
  const sum = (pick: (b: Batch) => number) => batches.reduce((n, b) => n + pick(b), 0) / count;
  return {
    key: variant.key,
    label: variant.label,
    rtt: summarize(concatSamples(batches.map((b) => b.rtt))),
    batchMedians: batches.map((b) => summarize(b.rtt).median),
    cpuPerRoundTrip: {
      parentUser: sum((b) => b.cpu.user),
      parentSystem: sum((b) => b.cpu.system),
      peerUser: peer.user / count,
      peerSystem: peer.system / count,
    },
  };
};

// Ratio of the medians of batches that ran side by side: the spread shows how noisy the run was.
const pairedRatios = (a: VariantResult, b: VariantResult): Summary =>
  summarize(a.batchMedians.map((m, i) => m / b.batchMedians[i]!));

// Total first: Linux splits user from system time by tick sampling, so only the total is exact.
const cpuCell = (user: number, system: number): string => `${(user + system).toFixed(1)} (${user.toFixed(1)})`;

/** The markdown report and the JSON data. */
export const transportReport = (results: readonly VariantResult[], setup: string, skipped: string | undefined) => {
  const byKey = new Map(results.map((r) => [r.key, r]));
  const bare = byKey.get(BARE);
  const c = byKey.get(C);
  const frame = byKey.get(FRAME);
  const table = markdownTable(
    ['variant', 'median us', 'p99 us', 'x bare', 'x C', 'p99 x bare', 'CPU us/RT init (user)', 'CPU us/RT echo (user)'],
    results.map((r) => [
      r.label,
      r.rtt.median,
      r.rtt.p99,
      ratioCell(r.rtt.median, bare?.rtt.median),
      ratioCell(r.rtt.median, c?.rtt.median),
      ratioCell(r.rtt.p99, bare?.rtt.p99),
      cpuCell(r.cpuPerRoundTrip.parentUser, r.cpuPerRoundTrip.parentSystem),
      cpuCell(r.cpuPerRoundTrip.peerUser, r.cpuPerRoundTrip.peerSystem),
    ]),
    { digits: 1 },
  );
  const ratio = frame && bare ? frame.rtt.median / bare.rtt.median : undefined;
  const paired = frame && bare ? pairedRatios(frame, bare) : undefined;
  const verdict =
    ratio === undefined || !paired
      ? 'not measured'
      : `${ratio <= GOAL_RATIO ? 'MET' : 'NOT MET'}: ${ratio.toFixed(2)}x` +
        ` (batch by batch: median ${paired.median.toFixed(2)}x, ${paired.min.toFixed(2)}x to ${paired.max.toFixed(2)}x)`;
  const lines = [setup, ...(skipped ? [`C baseline skipped: ${skipped}`] : []), '', table, '', `Goal: ${GOAL}. ${verdict}.`];
  return {
    text: lines.join('\n'),
    data: { setup, goal: { text: GOAL, ratio, paired, met: ratio !== undefined && ratio <= GOAL_RATIO }, skipped, variants: results },
  };
};
