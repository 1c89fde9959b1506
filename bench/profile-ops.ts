/**
 * Profiles one operation of the region or dma benchmark on both sides (client and served
 * benchmark device) and prints where the time goes. Not part of `npm run bench`: run
 * `npx tsx bench/profile-ops.ts [--op=read|write|posted|pipelined|dma-read|dma-write] [--ops=N] [--size=BYTES]
 * [--mode=fd|message] [--interval=us]` (and the benchmarks' --pin/--cpu options; --pin=cross keeps
 * one side's time out of the other's profile).
 * - read, write: synchronous REGION_READ / REGION_WRITE of 4 bytes, awaited one by one (default);
 * - posted: posted REGION_WRITEs of 4 bytes in batches of 2000, each closed by a fence;
 * - pipelined: REGION_READs of 4 bytes in batches of 2000, 64 in flight (the Observable accessor);
 * - dma-read, dma-write: the device's guest-memory reads (readInto) or writes of --size bytes
 *   (default 1 MiB), through the fd mapping or by DMA messages as --mode says (default message).
 * The raw profiles are kept in bench/results/ (open them in Chrome DevTools).
 */
import { concat, concatMap, lastValueFrom, mergeMap, range } from 'rxjs';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_BAR, BenchReg, DmaOp } from './devices/bench-device.js';
import { GUEST_IOVA, openDmaClient, runCommand } from './dma/runners.js';
import type { DmaModeName } from './lib/client.js';
import { benchArgs } from './lib/args.js';
import { environment, environmentLine } from './lib/env.js';
import { profileTables } from './lib/profile-tables.js';
import { startProfiler, type CpuProfile } from './lib/profiler.js';
import { RESULTS_DIR } from './lib/results.js';
import { startServer } from './lib/vfu-server.js';
import { place } from './transport/placement.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { options } = benchArgs();
const kind = options.get('op') ?? 'read';
if (!['read', 'write', 'posted', 'pipelined', 'dma-read', 'dma-write'].includes(kind)) {
  throw new Error('--op must be read, write, posted, dma-read or dma-write');
}
const dma = kind.startsWith('dma-');
const size = Number(options.get('size') ?? 1 << 20);
const mode = (options.get('mode') ?? (dma ? 'message' : 'fd')) as DmaModeName;
const ops = Number(options.get('ops') ?? (dma ? Math.max(64, Math.floor((2 << 30) / size)) : 50_000));
const interval = Number(options.get('interval') ?? 100);
const warmup = dma ? Math.max(8, ops >> 4) : 5_000;
const DATA = Buffer.from([0xde, 0xad, 0xbe, 0xef]);
const what: Record<string, string> = {
  read: 'synchronous REGION_READs of 4 bytes',
  write: 'synchronous REGION_WRITEs of 4 bytes',
  posted: 'posted REGION_WRITEs of 4 bytes (batches of 2000, then a fence)',
  pipelined: 'REGION_READs of 4 bytes, 64 in flight (batches of 2000)',
  'dma-read': `device DMA reads of ${size} bytes (${mode})`,
  'dma-write': `device DMA writes of ${size} bytes (${mode})`,
};

const main = async () => {
  console.log(environmentLine(environment()));
  mkdirSync(RESULTS_DIR, { recursive: true });
  const serverFile = join(RESULTS_DIR, `ops-${kind}-server.cpuprofile`);
  const clientFile = join(RESULTS_DIR, `ops-${kind}-client.cpuprofile`);
  const placed = place(options);
  const server = await startServer({
    ...(placed.placement.peerPrefix ? { prefix: placed.placement.peerPrefix } : {}),
    env: { BENCH_SERVER_PROFILE: serverFile, BENCH_PROFILE_INTERVAL_US: String(interval) },
  });
  const client = await openDmaClient(server, mode);
  try {
    const region = client.dev.region(BENCH_BAR);
    const dmaOp = kind === 'dma-read' ? DmaOp.READ : DmaOp.WRITE;
    // A DMA batch is one device command running its accesses back to back; profiled as one op per access.
    const batch = dma ? Math.max(1, Math.floor((64 << 20) / size)) : kind === 'posted' || kind === 'pipelined' ? 2000 : 1;
    const rx = client.dev.rx.region(BENCH_BAR);
    const posted = () =>
      lastValueFrom(concat(range(0, batch).pipe(concatMap(() => rx.write(BenchReg.SCRATCH, DATA, { posted: true }))), client.dev.rx.fence()), {
        defaultValue: undefined,
      });
    const pipelined = () =>
      lastValueFrom(range(0, batch).pipe(mergeMap(() => rx.read(BenchReg.SCRATCH, 4), 64)), { defaultValue: undefined });
    const op = dma
      ? () => runCommand(client.dev, { op: dmaOp, reps: batch, size, iova: GUEST_IOVA })
      : kind === 'posted'
        ? posted
        : kind === 'pipelined'
        ? pipelined
        : kind === 'write'
        ? () => region.write(BenchReg.SCRATCH, DATA, { posted: false })
        : () => region.read(BenchReg.SCRATCH, 4);
    for (let i = 0; i < Math.ceil(warmup / batch); i++) await op();
    process.kill(server.pid, 'SIGUSR2');
    await new Promise((resolve) => setTimeout(resolve, 200)); // the server's profiler starts asynchronously
    const profiler = await startProfiler(interval);
    const rounds = Math.ceil(ops / batch);
    const latency = new Float64Array(rounds);
    for (let i = 0; i < rounds; i++) {
      const t = performance.now();
      await op();
      latency[i] = ((performance.now() - t) * 1000) / batch;
    }
    const count = rounds * batch;
    const own = await profiler.stop();
    const profiled = server.waitForLine('profiled');
    process.kill(server.pid, 'SIGUSR2');
    await profiled;
    writeFileSync(clientFile, JSON.stringify(own));
    latency.sort();
    console.log(`\n${placed.description}; ${count} ${what[kind]} profiled every ${interval} us; ` +
      `median time per operation under the profiler ${latency[rounds >> 1]!.toFixed(1)} us\n`);
    console.log(profileTables('client', own, count, 'operation', ROOT));
    const theirs = JSON.parse(readFileSync(serverFile, 'utf8')) as CpuProfile;
    console.log(`\n${profileTables('server (benchmark device)', theirs, count, 'operation', ROOT)}`);
    console.log(`\nprofiles: ${clientFile}, ${serverFile}`);
  } finally {
    await client.close();
    await server.close();
    placed.restore();
  }
};

await main();
