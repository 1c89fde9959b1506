/**
 * The cli benchmark: what a user pays to start the command. CPU time of `vfio-user --version` and
 * of `vfio-user info` against a served device, beside `node -e 0` measured in the same rounds
 * (interleaved); RSS of an idle `vfio-user serve gpio` beside an idle bare Node process started
 * the same way. `--compare=DIR` adds the same rows for the CLI of another checkout (e.g. a worktree
 * of an earlier commit), measured in the same rounds.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { goal, goalLine } from './lib/goals.js';
import { summarize } from './lib/stats.js';
import { markdownTable, ratioCell } from './lib/table.js';
import { intOption, type Benchmark } from './lib/types.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const HOOK = fileURLToPath(new URL('./cli/report-usage.mjs', import.meta.url));

interface Usage {
  readonly cpuMs: number;
  readonly maxRssKb: number;
}

/** Runs `node --import HOOK ...args` to its end and returns the CPU time and peak RSS it reported. */
const measure = (args: readonly string[], scratch: string): Usage => {
  const out = join(scratch, 'usage.json');
  rmSync(out, { force: true });
  const r = spawnSync(process.execPath, ['--import', HOOK, ...args], { cwd: ROOT, env: { ...process.env, BENCH_USAGE_OUT: out }, stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status ?? r.signal}: ${r.stderr.toString().trim()}`);
  return JSON.parse(readFileSync(out, 'utf8')) as Usage;
};

/** Starts a long-running process and resolves once `ready` has been seen on its stdout (or at once). */
const startIdle = (args: readonly string[], ready?: RegExp): Promise<ChildProcess> =>
  new Promise((res, rej) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    if (!ready) return res(child);
    let seen = '';
    child.stdout!.on('data', (d: Buffer) => {
      seen += d.toString();
      if (ready.test(seen)) res(child);
    });
    child.on('exit', (code) => rej(new Error(`${args.join(' ')} exited ${code} before ${ready}`)));
  });

const rssKb = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A CLI to measure: its entry file and a label. */
interface Cli {
  readonly label: string;
  readonly bin: string;
}

/** Idle RSS of a served device and of a bare Node process, each after `settleMs`. */
const idleRss = async (cli: Cli, socketPath: string, settleMs: number): Promise<{ serve: number; bare: number }> => {
  const served = await startIdle([cli.bin, 'serve', 'gpio', '--socket-path', socketPath], /listening on/);
  const bare = await startIdle(['-e', 'setInterval(() => {}, 1000)']);
  try {
    await sleep(settleMs);
    return { serve: rssKb(served.pid!), bare: rssKb(bare.pid!) };
  } finally {
    served.kill('SIGTERM');
    bare.kill('SIGKILL');
    await new Promise((r) => served.once('exit', r));
  }
};

/** The benchmark, for the registry of bench/run.ts. */
export const cli: Benchmark = {
  name: 'cli',
  description: 'CPU of a CLI start (--version, info) beside `node -e 0`; RSS of an idle `serve gpio` beside an idle bare Node',
  run: async (context) => {
    const rounds = intOption(context, 'rounds', 15);
    const settleMs = intOption(context, 'settle', 1500);
    const compare = context.options.get('compare');
    const clis: Cli[] = [{ label: 'this tree', bin: join(ROOT, 'bin', 'vfio-user.js') }];
    if (compare) clis.push({ label: `compare (${compare})`, bin: join(resolve(compare), 'bin', 'vfio-user.js') });
    const scratch = mkdtempSync(join(tmpdir(), 'vfio-user-bench-cli-'));
    const socketPath = join(scratch, 'gpio.sock');
    const server = await startIdle([clis[0]!.bin, 'serve', 'gpio', '--socket-path', socketPath], /listening on/);
    try {
      const cpu = new Map<string, number[]>();
      const add = (key: string, u: Usage) => cpu.set(key, [...(cpu.get(key) ?? []), u.cpuMs]);
      context.progress(`cli: ${rounds} interleaved rounds of node -e 0, --version and info for ${clis.length} CLI(s)`);
      for (let i = 0; i < rounds; i++) {
        add('node -e 0', measure(['-e', '0'], scratch));
        for (const c of clis) {
          add(`${c.label}: --version`, measure([c.bin, '--version'], scratch));
          add(`${c.label}: info`, measure([c.bin, 'info', socketPath], scratch));
        }
      }
      const rss = [];
      for (const c of clis) rss.push({ label: c.label, ...(await idleRss(c, join(scratch, `idle-${rss.length}.sock`), settleMs)) });
      const base = summarize(cpu.get('node -e 0')!).median;
      const cpuRows = [...cpu.entries()].map(([k, v]) => {
        const s = summarize(v);
        return [k, s.median, s.min, s.max, ratioCell(s.median, base)];
      });
      const infoRatio = summarize(cpu.get(`${clis[0]!.label}: info`)!).median / base;
      const rssRatio = rss[0]!.serve / rss[0]!.bare;
      const goals = [
        goal('`vfio-user info` CPU at most 4x `node -e 0`', infoRatio, { atMost: 4 }),
        goal('idle `vfio-user serve gpio` RSS at most 1.5x an idle bare Node process', rssRatio, { atMost: 1.5 }),
      ];
      const text = [
        `CPU time (user + system) per process start, median of ${rounds} interleaved rounds, in ms:`,
        '',
        markdownTable(['command', 'median', 'min', 'max', 'vs node -e 0'], cpuRows),
        '',
        `Resident memory ${settleMs} ms after start, in MB:`,
        '',
        markdownTable(['CLI', 'serve gpio (idle)', 'bare node (idle)', 'ratio'], rss.map((r) => [r.label, r.serve / 1024, r.bare / 1024, ratioCell(r.serve, r.bare)])),
        '',
        ...goals.map(goalLine),
      ].join('\n');
      return { text, data: { rounds, cpu: Object.fromEntries(cpu), rss, goals } };
    } finally {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
      rmSync(scratch, { recursive: true, force: true });
    }
  },
};
