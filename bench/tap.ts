/**
 * The tap benchmark: what a `vfio-user tap` between the client and the server adds to a
 * synchronous 4-byte REGION_READ round trip. Baseline: the same reads straight to the server, in
 * the same cycles (interleaved). Variants: the tap forwarding only (`--quiet`: no message is
 * described or decoded), the tap printing every message in the trace format (its stdout drained),
 * and the tap writing a pcapng capture. The tap runs in its own process, as a user runs it; the
 * server is the region benchmark's (bench/peers/vfu-server.ts). Processes are pinned as in the
 * transport benchmark (--pin=same|cross|none, default same).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDevice, type Device } from '../src/client/index.js';
import { BENCH_BAR, BenchReg } from './devices/bench-device.js';
import { interleave, type Runner } from './lib/interleave.js';
import { concatSamples, median, summarize } from './lib/stats.js';
import { markdownTable } from './lib/table.js';
import { intOption, type Benchmark } from './lib/types.js';
import { startServer } from './lib/vfu-server.js';
import { place } from './transport/placement.js';

const CLI = fileURLToPath(new URL('../bin/vfio-user.js', import.meta.url));

/** A tap child process, listening. */
interface TapProcess {
  readonly socketPath: string;
  close(): Promise<void>;
}

const startTap = (dir: string, name: string, server: string, extra: readonly string[], prefix: readonly string[]): Promise<TapProcess> => {
  const socketPath = join(dir, `${name}.sock`);
  const [command, ...args] = [...prefix, process.execPath, CLI, 'tap', '--listen', socketPath, '--connect', server, ...extra];
  const child: ChildProcess = spawn(command!, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: string) => {
      if (out === undefined) return;
      out += d;
      if (!out.includes('# tap listening')) return;
      out = '';
      // From here on its output is read and dropped, as a terminal would take it.
      child.stdout!.off('data', onData).on('data', () => undefined);
      resolve({ socketPath, close: async () => void (child.kill('SIGTERM'), await exited) });
    };
    child.stdout!.setEncoding('utf8').on('data', onData);
    child.once('exit', (code) => reject(new Error(`tap ${name} exited with ${code} before listening`)));
  });
};

/** One batch: microseconds of each synchronous read. */
type Batch = Float64Array;

const reads = (dev: Device, count: number): Runner<Batch>['batch'] => async () => {
  const region = dev.region(BENCH_BAR);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await region.read(BenchReg.SCRATCH, 4);
    out[i] = (performance.now() - t) * 1000;
  }
  return out;
};

const VARIANTS = [
  ['direct', 'client to server, no tap', null],
  ['tap-quiet', 'through `tap --quiet` (forwarding only)', ['--quiet']],
  ['tap-trace', 'through `tap` printing every message', []],
  ['tap-pcap', 'through `tap --quiet --pcap FILE`', ['--quiet', '--pcap']],
] as const;

/** The benchmark, for the registry of bench/run.ts. */
export const tapBench: Benchmark = {
  name: 'tap',
  description: 'latency a `vfio-user tap` adds to a synchronous 4-byte REGION_READ, against direct reads in the same cycles',
  run: async (context) => {
    const cycles = intOption(context, 'cycles', 20);
    const batch = intOption(context, 'batch', 500);
    const placed = place(context.options);
    const prefix = placed.placement.peerPrefix ?? [];
    const dir = mkdtempSync(join(tmpdir(), 'vfu-bench-tap-'));
    // The server serves one client at a time: each variant has its own.
    const servers = await Promise.all(VARIANTS.map(() => startServer(prefix.length ? { prefix } : {})));
    const taps: TapProcess[] = [];
    const devs: Device[] = [];
    try {
      const runners: Runner<Batch>[] = [];
      for (const [i, [key, , extra]] of VARIANTS.entries()) {
        let socketPath = servers[i]!.socketPath;
        if (extra) {
          const args = extra.map((a) => (a === '--pcap' ? ['--pcap', join(dir, 'bench.pcapng')] : [a])).flat();
          const t = await startTap(dir, key, socketPath, args, prefix);
          taps.push(t);
          socketPath = t.socketPath;
        }
        const dev = await openDevice({ socketPath });
        devs.push(dev);
        await reads(dev, 1000)();
        runners.push({ key, batch: reads(dev, batch) });
      }
      const batches = await interleave(runners, cycles, context.progress);
      const direct = median(concatSamples(batches.get('direct')!));
      const rows = VARIANTS.map(([key, what]) => {
        const s = summarize(concatSamples(batches.get(key)!));
        // Per-cycle medians against the direct ones of the same cycle: the spread of the ratio.
        const ratios = batches.get(key)!.map((b, c) => median(b) / median(batches.get('direct')![c]!));
        return [what, s.median, s.p99, s.median - direct, `${(s.median / direct).toFixed(2)}x`, `${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}`];
      });
      const text = [
        `${cycles} cycles of one batch of ${batch} synchronous reads per variant, interleaved (rotating order), after 1000 warm-up reads each. ` +
          `Client: this process (Promise facade); server and tap: child processes. ${placed.description}.`,
        '',
        markdownTable(['variant', 'median us', 'p99 us', 'added us (median)', 'vs direct', 'per-cycle ratio range'], rows),
      ].join('\n');
      const data = Object.fromEntries(VARIANTS.map(([key]) => [key, summarize(concatSamples(batches.get(key)!))]));
      return { text, data };
    } finally {
      for (const d of devs) await d.close().catch(() => undefined);
      for (const t of taps) await t.close();
      for (const s of servers) await s.close();
      placed.restore();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
