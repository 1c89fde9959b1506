/**
 * Interleaved measurement: every variant runs one batch per cycle, in an order that rotates from
 * cycle to cycle, so drift on a shared machine (a neighbour's burst, CPU clocks) hits every variant
 * alike and ratios between variants measured in the same cycle stay meaningful.
 */

/** A variant ready to run measured batches. */
export interface Runner<B> {
  readonly key: string;
  /** Runs one measured batch. */
  batch(): Promise<B>;
}

/** Runs `cycles` cycles of one batch per runner; returns the batches of each runner, in cycle order. */
export const interleave = async <B>(
  runners: readonly Runner<B>[],
  cycles: number,
  progress: (line: string) => void,
): Promise<Map<string, B[]>> => {
  const out = new Map(runners.map((r) => [r.key, [] as B[]]));
  for (let cycle = 0; cycle < cycles; cycle++) {
    for (let k = 0; k < runners.length; k++) {
      const r = runners[(k + cycle) % runners.length]!;
      out.get(r.key)!.push(await r.batch());
    }
    if ((cycle + 1) % 5 === 0 || cycle + 1 === cycles) progress(`cycle ${cycle + 1}/${cycles}`);
  }
  return out;
};

/** Per-cycle ratios of two series measured side by side (same length), for the spread of a goal's ratio. */
export const pairedRatios = (a: readonly number[], b: readonly number[]): number[] => a.map((x, i) => x / b[i]!);
