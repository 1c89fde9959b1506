/** Summary statistics of latency samples. */

/** The figures reported for one set of samples (same unit as the samples). */
export interface Summary {
  readonly count: number;
  readonly mean: number;
  readonly median: number;
  readonly p99: number;
  readonly min: number;
  readonly max: number;
}

/** Sorted copy of the samples (the input is left as it is). */
const sortedCopy = (samples: ArrayLike<number>): Float64Array => Float64Array.from(samples).sort();

/**
 * The q-quantile (0..1) of sorted samples by the nearest-rank method, so a reported figure is
 * always one that was measured rather than an interpolation between two.
 */
export const quantileSorted = (sorted: ArrayLike<number>, q: number): number => {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
};

/** Arithmetic mean (NaN when empty). */
export const mean = (samples: ArrayLike<number>): number => {
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i]!;
  return samples.length === 0 ? Number.NaN : sum / samples.length;
};

/** Median by nearest rank. */
export const median = (samples: ArrayLike<number>): number => quantileSorted(sortedCopy(samples), 0.5);

/** 99th percentile by nearest rank. */
export const p99 = (samples: ArrayLike<number>): number => quantileSorted(sortedCopy(samples), 0.99);

/** Count, mean, median, p99, min and max in one sort. */
export const summarize = (samples: ArrayLike<number>): Summary => {
  const sorted = sortedCopy(samples);
  return {
    count: sorted.length,
    mean: mean(sorted),
    median: quantileSorted(sorted, 0.5),
    p99: quantileSorted(sorted, 0.99),
    min: sorted.length ? sorted[0]! : Number.NaN,
    max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
  };
};

/** Joins several sample arrays into one. */
export const concatSamples = (parts: readonly ArrayLike<number>[]): Float64Array => {
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
};
