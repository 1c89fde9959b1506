/** The counters as one immutable snapshot, folded from metric updates: the Observable a user's own monitoring reads. */
import { scan, type OperatorFunction } from 'rxjs';
import type { MetricUpdate } from './updates.js';

/** A latency distribution: count, sum, and the count at or below each bucket's bound (cumulative). */
export interface LatencySummary {
  readonly count: number;
  readonly sumSeconds: number;
  readonly buckets: Readonly<Record<string, number>>;
}

/** Every counter, by label. Keys: `COMMAND type flow` for messages, `COMMAND ERRNO` for errors, `path direction` for DMA, `type vector` for interrupts. */
export interface MetricsSnapshot {
  readonly messages: Readonly<Record<string, number>>;
  readonly errors: Readonly<Record<string, number>>;
  readonly latency: Readonly<Record<string, LatencySummary>>;
  readonly postedWrites: number;
  readonly dmaBytes: Readonly<Record<string, number>>;
  readonly interrupts: Readonly<Record<string, number>>;
  readonly dmaMaps: number;
}

/** Upper bounds of the latency buckets, in seconds (from 10 us, a round trip on one machine, to 5 s, QEMU's timeout). */
export const LATENCY_BUCKETS: readonly number[] = [1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 0.1, 0.5, 1, 5];

/** The snapshot before any update. */
export const emptyMetrics: MetricsSnapshot = { messages: {}, errors: {}, latency: {}, postedWrites: 0, dmaBytes: {}, interrupts: {}, dmaMaps: 0 };

const add = (record: Readonly<Record<string, number>>, key: string, n: number): Readonly<Record<string, number>> => ({ ...record, [key]: (record[key] ?? 0) + n });

const observe = (s: LatencySummary | undefined, seconds: number): LatencySummary => {
  const buckets: Record<string, number> = { ...(s?.buckets ?? {}) };
  for (const bound of LATENCY_BUCKETS) if (seconds <= bound) buckets[String(bound)] = (buckets[String(bound)] ?? 0) + 1;
  return { count: (s?.count ?? 0) + 1, sumSeconds: (s?.sumSeconds ?? 0) + seconds, buckets };
};

/** One update applied to a snapshot (a new snapshot; only the changed part is copied). */
export const applyMetric = (s: MetricsSnapshot, u: MetricUpdate): MetricsSnapshot => {
  switch (u.kind) {
    case 'message':
      return { ...s, messages: add(s.messages, `${u.command} ${u.type} ${u.flow}`, 1) };
    case 'error':
      return { ...s, errors: add(s.errors, `${u.command} ${u.errno}`, 1) };
    case 'latency':
      return { ...s, latency: { ...s.latency, [u.command]: observe(s.latency[u.command], u.seconds) } };
    case 'posted-write':
      return { ...s, postedWrites: s.postedWrites + u.writes };
    case 'dma':
      return { ...s, dmaBytes: add(s.dmaBytes, `${u.path} ${u.direction}`, u.bytes) };
    case 'interrupt':
      return { ...s, interrupts: add(s.interrupts, `${u.type} ${u.vector}`, 1) };
    case 'dma-maps':
      return { ...s, dmaMaps: u.held };
  }
};

/**
 * Folds updates into snapshots, one per update (throttle it, e.g. with `auditTime(1000)`, for a
 * dashboard).
 *
 * ```
 * updates:  --m--e--l-->
 * counters: --a--b--c-->   (a: one message; b: and one error; c: and one latency)
 * ```
 */
export const metricsSnapshots = (): OperatorFunction<MetricUpdate, MetricsSnapshot> => scan(applyMetric, emptyMetrics);
