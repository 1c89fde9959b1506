/**
 * The client process of the memory benchmark (run by bench/memory.ts with --expose-gc): opens the
 * benchmark device, runs REGION_READs and MSI-X interrupts in phases, and after the warm-up and
 * after each phase takes a snapshot of its own memory, the server's (the device's MEMORY register,
 * which runs a GC there too) and the client's pending-request count. Prints one JSON line.
 *
 * usage: client.ts <socket path> <requests> <interrupts> <depth> <phases> <warmup>
 */
import { concatMap, lastValueFrom, merge, mergeMap, range, take, tap } from 'rxjs';
import { openDevice, type Device } from '../../src/client/index.js';
import { BENCH_BAR, BenchReg, MEMORY_SIZE, decodeMemory, memorySnapshot, type MemorySnapshot } from '../devices/bench-device.js';

/** One snapshot. */
export interface Checkpoint {
  readonly label: string;
  readonly requests: number;
  readonly interrupts: number;
  /** Milliseconds the phase before it took (0 for the first). */
  readonly phaseMs: number;
  readonly client: MemorySnapshot;
  readonly server: MemorySnapshot;
  readonly pending: number;
  readonly unmatchedReplies: number;
}

/** What the process prints. */
export interface MemoryRun {
  readonly depth: number;
  readonly checkpoints: readonly Checkpoint[];
}

const done = { defaultValue: undefined };
const ONE = Buffer.from([1, 0, 0, 0]);

const enableMsix = async (dev: Device): Promise<void> => {
  const cap = dev.config.capabilities.find((c) => c.kind === 'msix');
  if (!cap) throw new Error('the benchmark device has no MSI-X capability');
  await dev.enableInterrupts('msix', 1);
  // Message Control bit 15 (MSI-X Enable), as a guest driver sets it.
  await dev.region(7).write(cap.offset + 2, Buffer.from([0x00, 0x80]), { posted: false });
};

/** `n` REGION_READs of 4 bytes, `depth` in flight. */
const requests = (dev: Device, n: number, depth: number): Promise<unknown> => {
  const bar = dev.region(BENCH_BAR).rx;
  return lastValueFrom(range(0, n).pipe(mergeMap(() => bar.read(BenchReg.SCRATCH, 4), depth)), done);
};

/** `n` interrupts, each raised by a posted write to the IRQ register and received before the next. */
const interrupts = async (dev: Device, n: number): Promise<void> => {
  const bar = dev.region(BENCH_BAR).rx;
  let received = 0;
  // interrupts$ is hot: the merge subscribes to it before the write that raises the interrupt.
  const one = () => merge(dev.rx.interrupts$.pipe(take(1)), bar.write(BenchReg.IRQ, ONE, { posted: true })).pipe(take(1));
  await lastValueFrom(range(0, n).pipe(concatMap(one), tap(() => received++)), done);
  if (received !== n) throw new Error(`${received} of ${n} interrupts arrived`);
};

const main = async () => {
  const [socketPath, total, irqs, depth, phases, warmup] = process.argv.slice(2);
  const n = { requests: Number(total), interrupts: Number(irqs), depth: Number(depth), phases: Number(phases), warmup: Number(warmup) };
  if (!socketPath || Object.values(n).some((v) => !Number.isInteger(v) || v <= 0)) {
    throw new Error('usage: client.ts <socket path> <requests> <interrupts> <depth> <phases> <warmup>');
  }
  const dev = await openDevice({ socketPath });
  try {
    await enableMsix(dev);
    const checkpoints: Checkpoint[] = [];
    let count = { requests: 0, interrupts: 0 };
    const snap = async (label: string, phaseMs: number) => {
      const client = memorySnapshot();
      const server = decodeMemory(await dev.region(BENCH_BAR).read(BenchReg.MEMORY, MEMORY_SIZE));
      const { pending, unmatchedReplies } = dev.rx.stats;
      checkpoints.push({ label, ...count, phaseMs, client, server, pending, unmatchedReplies });
    };
    await requests(dev, n.warmup, n.depth);
    await interrupts(dev, Math.ceil(n.warmup / 10));
    await snap('after warm-up', 0);
    const per = Math.ceil(n.requests / n.phases);
    for (let i = 0; i < n.phases; i++) {
      const batch = Math.min(per, n.requests - count.requests);
      const t0 = performance.now();
      await requests(dev, batch, n.depth);
      count = { ...count, requests: count.requests + batch };
      await snap(`${count.requests} requests`, performance.now() - t0);
    }
    const t0 = performance.now();
    await interrupts(dev, n.interrupts);
    count = { ...count, interrupts: n.interrupts };
    await snap(`+ ${n.interrupts} interrupts`, performance.now() - t0);
    const run: MemoryRun = { depth: n.depth, checkpoints };
    process.stdout.write(`${JSON.stringify(run)}\n`);
  } finally {
    await dev.close();
  }
};

await main();
