/** JSON output of benchmark runs, one file per benchmark under bench/results/ (git-ignored). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchEnvironment } from './env.js';

/** bench/results/, found from this module so the working directory does not matter. */
export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');

/** Writes one benchmark's results; returns the file path. */
export const writeResults = (name: string, env: BenchEnvironment, options: ReadonlyMap<string, string>, data: unknown): string => {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${name}.json`);
  const record = { name, date: new Date().toISOString(), env, options: Object.fromEntries(options), data };
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  return file;
};
