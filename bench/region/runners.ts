/** The measured batches of the region benchmark, each a Runner of bench/lib/interleave.ts. */
import { concat, concatMap, lastValueFrom, mergeMap, range } from 'rxjs';
import type { Device } from '../../src/client/index.js';
import { BENCH_BAR, BenchReg } from '../devices/bench-device.js';
import type { Runner } from '../lib/interleave.js';
import type { CBaseline } from '../transport/c-baseline.js';

/** One batch: how many operations, how long they took, and each one's latency when timed one by one. */
export interface RegionBatch {
  readonly count: number;
  readonly elapsedMs: number;
  /** Microseconds per operation (synchronous variants and the C round trips only). */
  readonly latencyUs?: Float64Array;
}

/** Batch sizes. */
export interface BatchSizes {
  /** Operations of a latency batch (timed one by one). */
  readonly latency: number;
  /** Operations of a throughput batch. */
  readonly throughput: number;
}

const DATA = Buffer.from([0xde, 0xad, 0xbe, 0xef]);
const OFFSET = BenchReg.SCRATCH;
const done = { defaultValue: undefined };

/** Times `count` awaited operations one by one (a caller of the Promise facade). */
const oneByOne = async (count: number, op: () => Promise<unknown>): Promise<RegionBatch> => {
  const latencyUs = new Float64Array(count);
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await op();
    latencyUs[i] = (performance.now() - t) * 1000;
  }
  return { count, elapsedMs: performance.now() - t0, latencyUs };
};

/** Times a whole batch. */
const whole = async (count: number, run: () => Promise<unknown>): Promise<RegionBatch> => {
  const t0 = performance.now();
  await run();
  return { count, elapsedMs: performance.now() - t0 };
};

/** Keys of the runners. */
export const Key = {
  C: 'c',
  READ_SYNC: 'read-sync',
  WRITE_SYNC: 'write-sync',
  READ_D1: 'read-depth-1',
  READ_D8: 'read-depth-8',
  READ_D64: 'read-depth-64',
  POSTED: 'write-posted',
  POSTED_ALL: 'write-posted-coalesce-all',
} as const;

/** The depths of the pipelined reads, with their keys. */
export const DEPTHS = [
  [1, Key.READ_D1],
  [8, Key.READ_D8],
  [64, Key.READ_D64],
] as const;

// The C program forks its own echo child per run: each batch is one run, after a short warm-up of its own.
const C_WARMUP = 200;

/** The C ping-pong, one run per batch. */
export const cRunner = (c: CBaseline & { available: true }, n: BatchSizes, cpus?: readonly [number, number]): Runner<RegionBatch> => ({
  key: Key.C,
  batch: async () => {
    const r = await c.run(C_WARMUP, n.latency, cpus);
    return { count: r.rtt.length, elapsedMs: r.rtt.reduce((a, b) => a + b, 0) / 1000, latencyUs: r.rtt };
  },
});

/** Posted writes then one fence: each write completes once handed to the socket, the fence's reply proves the server ran them all. */
const posted = (dev: Device, count: number) => () => {
  const rx = dev.region(BENCH_BAR).rx;
  return whole(count, () => lastValueFrom(concat(range(0, count).pipe(concatMap(() => rx.write(OFFSET, DATA, { posted: true }))), dev.rx.fence()), done));
};

/** The posted-write runner on a second client opened with `writeMultiThreshold: 0`. */
export const coalesceAllRunner = (dev: Device, n: BatchSizes): Runner<RegionBatch> => ({ key: Key.POSTED_ALL, batch: posted(dev, n.throughput) });

/** The client-side runners on one opened device. */
export const deviceRunners = (dev: Device, n: BatchSizes): Runner<RegionBatch>[] => {
  const bar = dev.region(BENCH_BAR);
  const rx = bar.rx;
  const pipelined = (depth: number) => () =>
    whole(n.throughput, () => lastValueFrom(range(0, n.throughput).pipe(mergeMap(() => rx.read(OFFSET, 4), depth)), done));
  return [
    { key: Key.READ_SYNC, batch: () => oneByOne(n.latency, () => bar.read(OFFSET, 4)) },
    { key: Key.WRITE_SYNC, batch: () => oneByOne(n.latency, () => bar.write(OFFSET, DATA, { posted: false })) },
    ...DEPTHS.map(([depth, key]) => ({ key, batch: pipelined(depth) })),
    { key: Key.POSTED, batch: posted(dev, n.throughput) },
  ];
};

/** Counts the messages that carried `count` posted writes (traced, so kept out of the measured batches). */
export const postedMessages = async (dev: Device, count: number): Promise<Record<string, number>> => {
  const sent: Record<string, number> = {};
  const sub = dev.rx.trace$.subscribe((e) => {
    if (e.direction === 'out' && e.type === 'command') sent[e.commandName] = (sent[e.commandName] ?? 0) + 1;
  });
  try {
    await posted(dev, count)();
  } finally {
    sub.unsubscribe();
  }
  return sent;
};
