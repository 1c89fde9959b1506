/**
 * The devices benchmark: one process serving many devices (the gpio sample, compiled package) and
 * one client process keeping a synchronous 1-byte BAR2 read in flight on each of them, for a fixed
 * time; aggregate rate and latency. Baseline, in the same cycles: one device, one client.
 * Needs `npm run build` (the peers run dist/ with plain node).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { goal, goalLine } from './lib/goals.js';
import { summarize } from './lib/stats.js';
import { markdownTable, ratioCell } from './lib/table.js';
import { intOption, type Benchmark } from './lib/types.js';

const SERVE = fileURLToPath(new URL('./devices/serve-many.mjs', import.meta.url));
const DRIVE = fileURLToPath(new URL('./devices/drive.mjs', import.meta.url));

interface Drive {
  readonly ops: number;
  readonly seconds: number;
  readonly p50: number;
  readonly p99: number;
}

const serveMany = (dir: string, count: number): Promise<ChildProcess> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SERVE, dir, String(count)], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve(child));
    child.on('exit', (code) => reject(new Error(`serve-many exited ${code} before ready`)));
  });

const drive = (dir: string, count: number, ms: number): Promise<Drive> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DRIVE, dir, String(count), String(ms)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!) as Drive) : reject(new Error(`drive exited ${code}`))));
  });

/** One run: `count` devices served by one process, driven by one client process. */
const run = async (count: number, ms: number): Promise<Drive & { rate: number }> => {
  const dir = mkdtempSync(join(tmpdir(), 'vfio-user-bench-devices-'));
  const server = await serveMany(dir, count);
  try {
    const d = await drive(dir, count, ms);
    return { ...d, rate: d.ops / d.seconds };
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
};

/** The benchmark, for the registry of bench/run.ts. */
export const devices: Benchmark = {
  name: 'devices',
  description: 'one process serving 100 devices to 100 connections at once: aggregate rate and p50, vs one device and one connection',
  run: async (context) => {
    const count = intOption(context, 'devices', 100);
    const cycles = intOption(context, 'cycles', 3);
    const ms = intOption(context, 'ms', 3000);
    const one: (Drive & { rate: number })[] = [];
    const many: (Drive & { rate: number })[] = [];
    for (let c = 0; c < cycles; c++) {
      context.progress(`devices: cycle ${c + 1}/${cycles}: 1 device, then ${count}`);
      one.push(await run(1, ms));
      many.push(await run(count, ms));
    }
    const med = (xs: number[]) => summarize(xs).median;
    const rows = [
      ['1 device, 1 connection', med(one.map((r) => r.rate)) / 1000, med(one.map((r) => r.p50)), med(one.map((r) => r.p99)), '1.00x'],
      [`${count} devices, ${count} connections`, med(many.map((r) => r.rate)) / 1000, med(many.map((r) => r.p50)), med(many.map((r) => r.p99)), ratioCell(med(many.map((r) => r.rate)), med(one.map((r) => r.rate)))],
    ];
    const paired = many.map((m, i) => m.rate / one[i]!.rate);
    const text = [
      `Sync 1-byte BAR2 reads of the gpio sample for ${ms} ms per run, one read in flight per connection; server and client are separate processes running the compiled package; median of ${cycles} cycles.`,
      '',
      markdownTable(['setup', 'aggregate kops/s', 'p50 us', 'p99 us', 'rate vs one'], rows),
      '',
      goalLine(goal(`${count} devices in one process give at least the aggregate rate of one device`, med(paired), { atLeast: 1 }, paired)),
    ].join('\n');
    return { text, data: { count, cycles, ms, one, many } };
  },
};
