/**
 * Runs benchmarks by name: `npm run bench` runs them all, `npm run bench -- transport` a subset,
 * `--key=value` arguments are options for the benchmarks (e.g. `--roundtrips=5000`).
 * The report (markdown) goes to stdout, progress to stderr, JSON to bench/results/<name>.json.
 */
import { benchArgs } from './lib/args.js';
import { environment, environmentLine } from './lib/env.js';
import { writeResults } from './lib/results.js';
import type { BenchContext, Benchmark } from './lib/types.js';
import { cli } from './cli.js';
import { devices } from './devices.js';
import { dma } from './dma.js';
import { maps } from './maps.js';
import { memory } from './memory.js';
import { nvmeBench } from './nvme.js';
import { region } from './region.js';
import { tapBench } from './tap.js';
import { transport } from './transport.js';

/** Every benchmark; adding one is its import above and its name here. */
const registry: readonly Benchmark[] = [transport, region, dma, maps, memory, cli, devices, nvmeBench, tapBench];

const main = async () => {
  const { names, options } = benchArgs();
  const unknown = names.filter((n) => !registry.some((b) => b.name === n));
  if (unknown.length) {
    console.error(`unknown benchmark: ${unknown.join(', ')}; known: ${registry.map((b) => b.name).join(', ')}`);
    process.exitCode = 2;
    return;
  }
  const selected = names.length ? registry.filter((b) => names.includes(b.name)) : registry;
  const env = environment();
  console.log(environmentLine(env));
  const context: BenchContext = { options, progress: (line) => process.stderr.write(`${line}\n`) };
  for (const bench of selected) {
    console.log(`\n## ${bench.name}: ${bench.description}\n`);
    const t0 = performance.now();
    const report = await bench.run(context);
    context.progress(`${bench.name} took ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    console.log(report.text);
    console.log(`\nresults: ${writeResults(bench.name, env, options, report.data)}`);
  }
};

await main();
