/**
 * The maps benchmark: DMA_MAP then DMA_UNMAP of many one-page sections of guest memory through
 * the client's container (guestMemory().transaction(...)), as one transaction and one at a time,
 * with the client in fd mode (a memfd per section sent with its DMA_MAP) and in message mode;
 * baseline: as many bare round trips on the same connection, in the same cycles. A server child
 * process per mode, with max_dma_maps raised to the section count if needed.
 */
import { interleave, type Runner } from './lib/interleave.js';
import { intOption, type Benchmark } from './lib/types.js';
import { startServer, type ServerProcess } from './lib/vfu-server.js';
import { mapsReport, poolRuns } from './maps/report.js';
import { growthRun, memoryOnlyRunner, oneByOneRunner, openMapsClient, roundTripRunner, transactionRunner, type MapsClient, type MapsRun } from './maps/runners.js';
import { goal, goalLine } from './lib/goals.js';
import { defaultLimits } from '../src/server/index.js';
import { place } from './transport/placement.js';

/** The benchmark, for the registry of bench/run.ts. */
export const maps: Benchmark = {
  name: 'maps',
  description: 'DMA_MAP + DMA_UNMAP of 10,000 sections, one transaction and one at a time, vs as many bare round trips; how a map costs as the table grows',
  run: async (context) => {
    const count = intOption(context, 'count', 10_000);
    const cycles = intOption(context, 'cycles', 3);
    const timeoutMs = intOption(context, 'timeout-ms', 60_000);
    // Growth sections are slices of one block: no fd per section. In message mode the server keeps
    // ranges only; in fd mode it maps each, so the count stays below vm.max_map_count (65,530 here).
    const growth = intOption(context, 'growth', 100_000);
    const growthFd = intOption(context, 'growth-fd', 30_000);
    const placed = place(context.options);
    const limits = { maxDmaMaps: Math.max(defaultLimits.maxDmaMaps, count, growth, growthFd) };
    const servers: ServerProcess[] = [];
    const clients: MapsClient[] = [];
    try {
      const open = async (mode: 'fd' | 'message') => {
        const server = await startServer({ limits, ...(placed.placement.peerPrefix ? { prefix: placed.placement.peerPrefix } : {}) });
        servers.push(server);
        const c = await openMapsClient(server, mode, timeoutMs);
        clients.push(c);
        return c;
      };
      const fd = await open('fd');
      const message = await open('message');
      const runners: Runner<MapsRun>[] = [
        roundTripRunner('round-trips', fd.dev, count),
        memoryOnlyRunner('memory-only', count),
        transactionRunner('transaction-fd', fd, count),
        transactionRunner('transaction-message', message, count),
        oneByOneRunner('one-by-one-fd', fd, count),
        oneByOneRunner('one-by-one-message', message, count),
      ];
      context.progress(`warming up (every variant once with ${Math.min(count, 1000)} sections)`);
      for (const r of [
        roundTripRunner('w', fd.dev, Math.min(count, 1000)),
        transactionRunner('w', fd, Math.min(count, 1000)),
        transactionRunner('w', message, Math.min(count, 1000)),
        oneByOneRunner('w', fd, Math.min(count, 1000)),
        oneByOneRunner('w', message, Math.min(count, 1000)),
      ]) {
        await r.batch();
      }
      const runs = await interleave(runners, cycles, context.progress);
      const pooled = new Map([...runs].map(([key, r]) => [key, poolRuns(r)]));
      const setup =
        `${count} sections of 4 KiB at consecutive addresses; ${cycles} cycles of one run of each variant, the order rotating; ` +
        `server max_dma_maps ${limits.maxDmaMaps}; client reply timeout ${timeoutMs} ms (a transaction's requests are all in flight at once). A run's map half ends when dmaSettled() resolves (every DMA_MAP answered), ` +
        `its unmap half likewise; the "guest memory alone" row is the client's own share (memfd_create + mmap + the section fold, ` +
        `no listener). ${placed.description}.`;
      const report = mapsReport(pooled, count, setup);
      const growthOf = async (c: MapsClient, n: number, mode: string) => {
        context.progress(`growth: ${n} sections mapped one at a time (${mode} mode)`);
        const grown = await growthRun(c, n);
        const ratio = grown.lastMsPerMap / grown.firstMsPerMap;
        const line =
          `Growth, ${mode} mode: ${n} sections (slices of one block) mapped one at a time, each committed and answered before the next: ` +
          `the first thousand ${(grown.firstMsPerMap * 1000).toFixed(0)} us per map, the last thousand ${(grown.lastMsPerMap * 1000).toFixed(0)} us per map.`;
        return { grown, text: ['', '', line, '', goalLine(goal(`the last thousand of ${n} DMA_MAPs (${mode} mode) at most 2x the first thousand per map`, ratio, { atMost: 2 }))].join('\n') };
      };
      const grownMessage = await growthOf(message, growth, 'message');
      const grownFd = await growthOf(fd, growthFd, 'fd');
      const growthText = grownMessage.text + grownFd.text;
      const grown = { message: grownMessage.grown, fd: grownFd.grown };
      return { text: report.text + growthText, data: { ...(report.data as object), growth: grown } };
    } finally {
      for (const c of clients) await c.close();
      for (const s of servers) await s.close();
      placed.restore();
    }
  },
};
