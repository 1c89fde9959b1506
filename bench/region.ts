/**
 * The region benchmark: REGION_READ and REGION_WRITE of 4 bytes through the client's public API
 * against the project's server (a child process serving bench/devices/benchDevice.ts, whose BAR 0
 * is plain `{ read, write }` functions): synchronous latency, pipelined read throughput at depth
 * 1, 8 and 64, and posted-write throughput closed by a fence. Baseline: the C ping-pong of the
 * transport benchmark, run in the same cycles. Processes are pinned as in the transport benchmark
 * (--pin=same|cross|none, default same).
 */
import { openDevice, type ClientOptions, type Device } from '../src/client/index.js';
import { interleave, type Runner } from './lib/interleave.js';
import { intOption, type Benchmark } from './lib/types.js';
import { startServer, type ServerProcess } from './lib/vfu-server.js';
import { cRunner, coalesceAllRunner, deviceRunners, postedMessages, type RegionBatch } from './region/runners.js';
import { poolBatches, regionReport } from './region/report.js';
import { compileCBaseline } from './transport/c-baseline.js';
import { place } from './transport/placement.js';

/** The benchmark, for the registry of bench/run.ts. */
export const region: Benchmark = {
  name: 'region',
  description: 'REGION_READ/REGION_WRITE of 4 bytes, client and server of this project: latency, pipelining, posted writes',
  run: async (context) => {
    const cycles = intOption(context, 'cycles', 30);
    const sizes = { latency: intOption(context, 'batch', 500), throughput: intOption(context, 'tbatch', 2000) };
    const warmup = intOption(context, 'warmup', 2000);
    const c = await compileCBaseline();
    if (!c.available) context.progress(`C baseline skipped: ${c.reason}`);
    const placed = place(context.options);
    const servers: ServerProcess[] = [];
    const devs: Device[] = [];
    // A server serves one client at a time: the second client (every posted write coalesced) gets its own.
    const open = async (options: ClientOptions) => {
      const server = await startServer(placed.placement.peerPrefix ? { prefix: placed.placement.peerPrefix } : {});
      servers.push(server);
      const dev = await openDevice({ ...options, socketPath: server.socketPath });
      devs.push(dev);
      if (!dev.region(0).posted) throw new Error('the client does not post writes to BAR 0: the posted-write figures would be wrong');
      return dev;
    };
    try {
      const dev = await open({});
      const coalescing = await open({ writeMultiThreshold: 0 });
      const runners: Runner<RegionBatch>[] = [
        ...(c.available ? [cRunner(c, sizes, placed.placement.cCpus)] : []),
        ...deviceRunners(dev, sizes),
        coalesceAllRunner(coalescing, sizes),
      ];
      context.progress(`warming up (${warmup} operations per variant)`);
      const warm = { latency: warmup, throughput: warmup };
      for (const r of [...deviceRunners(dev, warm), coalesceAllRunner(coalescing, warm)]) await r.batch();
      const batches = await interleave(runners, cycles, context.progress);
      const postedMix = await postedMessages(dev, sizes.throughput);
      const postedMixAll = await postedMessages(coalescing, sizes.throughput);
      const pooled = new Map([...batches].map(([key, b]) => [key, poolBatches(b)]));
      const setup =
        `${cycles} cycles; per cycle one batch of each variant (${sizes.latency} operations for latency, ` +
        `${sizes.throughput} for throughput), the order rotating; after ${warmup} warm-up operations per variant. ` +
        `Server: a child process serving the benchmark device; client: this process, Promise facade for the synchronous ` +
        `rows, Observable API (mergeMap) for the pipelined ones. ${placed.description}. Latency pooled over all batches; ` +
        'rates are medians of per-batch rates.';
      return regionReport(pooled, setup, c.available ? undefined : c.reason, { default: postedMix, coalesceAll: postedMixAll }, sizes.throughput);
    } finally {
      for (const d of devs) await d.close();
      for (const s of servers) await s.close();
      placed.restore();
      if (c.available) c.dispose();
    }
  },
};
