/** The shape every benchmark of the registry (bench/run.ts) has. */

/** What the runner hands a benchmark. */
export interface BenchContext {
  /** `--key=value` options from the command line (a bare `--key` is "true"). */
  readonly options: ReadonlyMap<string, string>;
  /** Prints a progress line (to stderr, so stdout stays the report). */
  progress(line: string): void;
}

/** What a benchmark returns. */
export interface BenchReport {
  /** Markdown for the reader: tables and goal lines. */
  readonly text: string;
  /** Written as JSON to bench/results/<name>.json, beside the environment. */
  readonly data: unknown;
}

/** A named benchmark. Every figure it reports sits beside a baseline measured in the same run. */
export interface Benchmark {
  /** Name used on the command line and for the results file. */
  readonly name: string;
  /** One line saying what it measures. */
  readonly description: string;
  run(context: BenchContext): Promise<BenchReport>;
}

/** Reads a positive integer option, or `fallback` when absent. */
export const intOption = (context: BenchContext, key: string, fallback: number): number => {
  const raw = context.options.get(key);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${key} must be a positive integer, got ${raw}`);
  return value;
};
