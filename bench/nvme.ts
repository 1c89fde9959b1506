/**
 * The NVMe benchmark: 4 KiB random reads and writes through the TypeScript NVMe host of the specs
 * (spec/fixtures/nvme-host.ts) over the project's client, against `vfio-user serve nvme` (compiled,
 * a namespace in memory) in a child process: queue depth 1 and 32, guest memory mapped by fd (the
 * controller reaches it directly), completions by MSI-X eventfd. Baseline in the same cycles: the
 * project's own synchronous REGION_READ round trip (4 bytes of the controller's BAR 0) on the same
 * connection. Needs `npm run build` (the server runs dist/).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { guestMemory, openDevice, type Device } from '../src/client/index.js';
import { nvme } from '../src/samples/index.js';
import { nvmeHost, type NvmeHost } from '../spec/fixtures/nvme-host.js';
import { interleave, pairedRatios, type Runner } from './lib/interleave.js';
import { goal, goalLine } from './lib/goals.js';
import { concatSamples, median, summarize } from './lib/stats.js';
import { markdownTable, ratioCell } from './lib/table.js';
import { intOption, type Benchmark } from './lib/types.js';
import { place } from './transport/placement.js';

const BIN = fileURLToPath(new URL('../bin/vfio-user.js', import.meta.url));
const NAMESPACE = 256 << 20;
const BLOCK = 512;
const IO = 4096;
const RAM = 0x1000_0000;
const RAM_SIZE = 16 << 20;

/** One measured batch: per-operation latencies (µs) and the batch's rate. */
interface Batch {
  readonly latencies: Float64Array;
  readonly rate: number;
}

/** `vfio-user serve nvme` in a child process, once it listens. */
const serveNvme = (socketPath: string, prefix: readonly string[]): Promise<ChildProcess> =>
  new Promise((resolve, reject) => {
    // BENCH_SERVER_NODE_ARGS: node flags for the server (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p" to profile it).
    const nodeArgs = (process.env['BENCH_SERVER_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');
    const [command, ...args] = [...prefix, process.execPath, ...nodeArgs, BIN, 'serve', 'nvme', '--socket-path', socketPath, '--size', String(NAMESPACE)];
    const child = spawn(command!, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('listening on') && resolve(child));
    child.on('exit', (code) => reject(new Error(`serve nvme exited ${code} before listening`)));
  });

/** Random 4 KiB-aligned LBAs over the namespace. */
const randomLba = (): number => Math.floor(Math.random() * (NAMESPACE / IO)) * (IO / BLOCK);

/** Runs `ops` operations with `depth` in flight; each resolves when its completion is reaped. */
const measure = async (ops: number, depth: number, op: (slot: number) => Promise<unknown>): Promise<Batch> => {
  const latencies = new Float64Array(ops);
  let next = 0;
  const started = process.hrtime.bigint();
  const worker = async (slot: number) => {
    while (next < ops) {
      const i = next++;
      const t0 = process.hrtime.bigint();
      await op(slot);
      latencies[i] = Number(process.hrtime.bigint() - t0) / 1000;
    }
  };
  await Promise.all(Array.from({ length: depth }, (_, slot) => worker(slot)));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { latencies, rate: ops / seconds };
};

/** The I/O variants: read or write, at a depth, each slot with its own buffer reused for every command. */
const ioRunner = (host: NvmeHost, kind: 'read' | 'write', depth: number, ops: number): Runner<Batch> => {
  const buffers = Array.from({ length: depth }, (_, i) => {
    const b = host.buffer(IO);
    b.copyIn(Buffer.alloc(IO, i + 1));
    return b;
  });
  const opcode = kind === 'read' ? nvme.IoOpcode.READ : nvme.IoOpcode.WRITE;
  return {
    key: `${kind} qd${depth}`,
    batch: () =>
      measure(ops, depth, async (slot) => {
        const b = buffers[slot]!;
        const c = await host.submit(1, { opcode, nsid: 1, prp1: b.prp1, prp2: b.prp2, cdw: [randomLba(), 0, IO / BLOCK - 1, 0, 0, 0] });
        if (c.status.sc !== 0 || c.status.sct !== 0) throw new Error(`${kind} failed: status ${c.status.sct}/${c.status.sc}`);
      }),
  };
};

/** The baseline: a synchronous 4-byte REGION_READ of BAR 0 (VS), one at a time. */
const regionRunner = (dev: Device, ops: number): Runner<Batch> => ({
  key: 'REGION_READ sync',
  batch: () => measure(ops, 1, () => dev.region(0).read(nvme.NvmeReg.VS, 4)),
});

export const nvmeBench: Benchmark = {
  name: 'nvme',
  description: '4 KiB random read/write IOPS and latency at QD1 and QD32 through a TypeScript NVMe host, against the sync REGION_READ round trip',
  run: async (context) => {
    const cycles = intOption(context, 'cycles', 10);
    const ops1 = intOption(context, 'batch', 1000);
    const ops32 = intOption(context, 'qbatch', 4000);
    const placed = place(context.options);
    const dir = mkdtempSync(join(tmpdir(), 'vfio-user-bench-nvme-'));
    const socketPath = join(dir, 'sock');
    const memory = guestMemory();
    const ram = memory.add({ iova: RAM, size: RAM_SIZE });
    let server: ChildProcess | undefined;
    let dev: Device | undefined;
    let host: NvmeHost | undefined;
    try {
      server = await serveNvme(socketPath, placed.placement.peerPrefix ?? []);
      dev = await openDevice({ socketPath, memory, dmaMode: 'fd' });
      host = nvmeHost(dev, { iova: RAM, buffer: ram.buffer });
      await host.start();
      await host.enable();
      await host.setQueues(1);
      await host.createQueuePair(1, 64, 1);
      const runners = [
        regionRunner(dev, ops1),
        ioRunner(host, 'read', 1, ops1),
        ioRunner(host, 'write', 1, ops1),
        ioRunner(host, 'read', 32, ops32),
        ioRunner(host, 'write', 32, ops32),
      ];
      context.progress('warming up');
      for (const r of runners) await r.batch();
      const batches = await interleave(runners, cycles, context.progress);
      const rates = (key: string) => batches.get(key)!.map((b) => b.rate);
      const base = 'REGION_READ sync';
      const baseRate = median(rates(base));
      const baseLatency = summarize(concatSamples(batches.get(base)!.map((b) => b.latencies)));
      const rows = runners.map((r) => {
        const lat = summarize(concatSamples(batches.get(r.key)!.map((b) => b.latencies)));
        const rate = median(rates(r.key));
        return { key: r.key, rate, p50: lat.median, p99: lat.p99, rateRatio: rate / baseRate, p50Ratio: lat.median / baseLatency.median };
      });
      const table = markdownTable(
        ['variant', 'IOPS (median of batches)', 'vs REGION_READ rate', 'p50 µs', 'p99 µs', 'p50 vs REGION_READ'],
        rows.map((r) => [r.key, Math.round(r.rate), ratioCell(r.rate, baseRate), r.p50.toFixed(1), r.p99.toFixed(1), ratioCell(r.p50, baseLatency.median)]),
      );
      // A QD1 read is a doorbell (posted), the command's fetch, the data, the completion and an
      // eventfd: it should cost about one synchronous round trip, not several.
      const qd1 = goal('4 KiB QD1 random read p50 <= 2x the sync REGION_READ p50', rows[1]!.p50Ratio, { atMost: 2 });
      const qd32 = goal('4 KiB QD32 random read IOPS >= 2x the sync REGION_READ rate', rows[3]!.rateRatio, { atLeast: 2 }, pairedRatios(rates('read qd32'), rates(base)));
      const text = [
        `${cycles} cycles of one batch per variant (${ops1} operations at QD1 and for the baseline, ${ops32} at QD32), order rotating. ` +
          `Server: \`vfio-user serve nvme --size 256M\` (compiled, namespace in memory) in a child process; client and host in this process, ` +
          `guest memory mapped by fd, completions by MSI-X eventfd, one I/O queue pair of 64 entries. ${placed.description}.`,
        '',
        table,
        '',
        goalLine(qd1),
        goalLine(qd32),
      ].join('\n');
      return { text, data: { cycles, ops1, ops32, rows, goals: [qd1, qd32] } };
    } finally {
      host?.stop();
      await dev?.close();
      server?.kill('SIGTERM');
      memory.close();
      rmSync(dir, { recursive: true, force: true });
      placed.restore();
    }
  },
};
