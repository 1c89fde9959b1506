/**
 * `npm run fuzz -- [--role server|client|both] [--cases N] [--seed S] [--path P]`: fuzzes the
 * server (every sample device) and the client for longer than `npm test` does, in rounds of 250
 * cases with seeds S, S+1, ...; every failure prints the seed and path that replay it
 * (`--seed S --path P --cases 1`), and the run goes on with the next round.
 */
import { parseArgs } from 'node:util';
import { sampleNames } from '../../src/samples/index.js';
import { fuzzClient, outcomes } from './client-fuzz.js';
import { fuzzServer } from './server-fuzz.js';

const { values } = parseArgs({
  options: {
    role: { type: 'string', default: 'both' },
    cases: { type: 'string', default: '5000' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    path: { type: 'string' },
  },
});
const total = Number(values.cases);
const base = Number(values.seed);
if (!Number.isInteger(total) || total < 1 || !Number.isInteger(base)) {
  console.error('fuzz: --cases and --seed take whole numbers');
  process.exit(2);
}
const ROUND = 250;

interface Tally {
  cases: number;
  failures: number;
  fdGrowth: number;
}

const rounds = async (label: string, run: (cases: number, seed: number, path?: string) => Promise<{ fdGrowth: readonly string[] }>): Promise<Tally> => {
  const tally: Tally = { cases: 0, failures: 0, fdGrowth: 0 };
  for (let done = 0, round = 0; done < total; done += ROUND, round++) {
    const cases = Math.min(ROUND, total - done);
    const seed = base + round;
    try {
      const report = await run(cases, seed, values.path);
      tally.fdGrowth += report.fdGrowth.length;
      if (report.fdGrowth.length > 0) console.log(`${label}: fds left open after seed ${seed}: ${report.fdGrowth.join(', ')}`);
    } catch (err) {
      tally.failures++;
      const message = (err as Error).message;
      const at = /\{ seed: (-?\d+), path: "([^"]*)"/.exec(message);
      console.log(`${label}: FAILED, replay with --role ${label.split(' ')[0]} --seed ${at?.[1] ?? seed} --path ${at?.[2] ?? '?'} --cases 1\n${message.split('\n').slice(0, 12).join('\n')}`);
    }
    tally.cases += cases;
  }
  console.log(`${label}: ${tally.cases} cases, ${tally.failures} failing round(s), ${tally.fdGrowth} fd(s) left open`);
  return tally;
};

const tallies: Tally[] = [];
if (values.role === 'server' || values.role === 'both') {
  for (const device of sampleNames) tallies.push(await rounds(`server ${device}`, (c, s, p) => fuzzServer(device, c, s, p)));
}
if (values.role === 'client' || values.role === 'both') {
  tallies.push(await rounds('client', fuzzClient));
  console.log(`client outcomes: ${[...outcomes].map(([k, v]) => `${k} ${v}`).join(', ')}`);
}
const failed = tallies.reduce((n, t) => n + t.failures + t.fdGrowth, 0);
console.log(`fuzz: seed ${base}, ${tallies.reduce((n, t) => n + t.cases, 0)} cases, ${failed} problem(s)`);
process.exit(failed > 0 ? 1 : 0);
