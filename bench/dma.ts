/**
 * The dma benchmark: guest-memory reads and writes done by a served device (the benchmark
 * device's DMA register, timed inside the server process), 4 KiB to 1 MiB, through the fd
 * mapping (client in fd mode) and through DMA_READ/DMA_WRITE messages (client in message mode,
 * max_msg_fds 0), against `Buffer.copy` of the same sizes in the same server process. Each server
 * is a child process with one client; processes are pinned as in the transport benchmark.
 */
import { interleave, type Runner } from './lib/interleave.js';
import { intOption, type Benchmark } from './lib/types.js';
import { startServer, type ServerProcess } from './lib/vfu-server.js';
import { defaultLimits } from '../src/server/index.js';
import { MAX_DMA_SIZE } from './devices/bench-device.js';
import { dmaReport, rates } from './dma/report.js';
import { checkWrites, dmaRunner, openDmaClient, repsFor, type DmaBatch, type DmaClient, type DmaKind } from './dma/runners.js';
import { place } from './transport/placement.js';

const DEFAULT_SIZES = [4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20];
const KINDS: readonly DmaKind[] = ['copy', 'fd-read', 'fd-write', 'message-read', 'message-write'];

const parseSizes = (raw: string | undefined): number[] => {
  if (raw === undefined) return DEFAULT_SIZES;
  const sizes = raw.split(',').map((s) => Number(s.trim()));
  if (sizes.some((s) => !Number.isInteger(s) || s <= 0 || s > MAX_DMA_SIZE)) throw new Error(`--sizes must be byte counts up to ${MAX_DMA_SIZE}`);
  return sizes;
};

/** The benchmark, for the registry of bench/run.ts. */
export const dma: Benchmark = {
  name: 'dma',
  description: 'guest-memory access by a served device, 4 KiB to 1 MiB: fd mapping and DMA messages vs Buffer.copy',
  run: async (context) => {
    const cycles = intOption(context, 'cycles', 15);
    const budget = intOption(context, 'budget', 8 << 20);
    const sizes = parseSizes(context.options.get('sizes'));
    const placed = place(context.options);
    const prefix = placed.placement.peerPrefix ? { prefix: placed.placement.peerPrefix } : {};
    // The server paces its DMA_READs for QEMU by default (ServerLimits.dmaReadWindow/dmaReadChunk);
    // --read-window=BYTES gives it a window and chunk of that size, for a client that writes replies whole.
    const readWindow = context.options.has('read-window') ? intOption(context, 'read-window', 1) : undefined;
    const limits = readWindow === undefined ? {} : { limits: { dmaReadWindow: readWindow, dmaReadChunk: readWindow } };
    const servers: ServerProcess[] = [];
    const clients: Partial<Record<'fd' | 'message', DmaClient>> = {};
    try {
      for (const mode of ['fd', 'message'] as const) {
        const server = await startServer({ ...prefix, ...limits });
        servers.push(server);
        clients[mode] = await openDmaClient(server, mode);
      }
      const both = clients as Record<'fd' | 'message', DmaClient>;
      for (const size of sizes) for (const mode of ['fd', 'message'] as const) await checkWrites(both[mode], size);
      const runners: Runner<DmaBatch>[] = sizes.flatMap((size) => KINDS.map((k) => dmaRunner(both, k, size, repsFor(size, budget))));
      context.progress('warming up (one batch of each variant)');
      for (const r of runners) await r.batch();
      const batches = await interleave(runners, cycles, context.progress);
      const byKey = new Map([...batches].map(([key, b]) => [key, rates(b)]));
      const setup =
        `${cycles} cycles; per cycle one batch of each variant and size (about ${budget >> 20} MiB per batch: ` +
        `${sizes.map((s) => `${repsFor(s, budget)} x ${s >= 1 << 20 ? `${s >> 20} MiB` : `${s >> 10} KiB`}`).join(', ')}), the order rotating. ` +
        'Each batch is one command to the benchmark device, which runs its accesses one after the other (ctx.dma.readInto into the device buffer / ctx.dma.write of the ' +
        'server framework; Buffer.copy between two buffers of the server process for the baseline) and times them itself. ' +
        `fd: the client sent its memfd with DMA_MAP and the server copies through its mapping; msg: the client runs with dmaMode 'message' and ` +
        `max_msg_fds 0, so every access is DMA_READ/DMA_WRITE messages of up to the client's max_data_xfer_size (1 MiB); the server's DMA_READs ` +
        (readWindow === undefined
          ? `are paced for QEMU by default (at most ${defaultLimits.dmaReadWindow >> 10} KiB owed, ${defaultLimits.dmaReadChunk >> 10} KiB each; --read-window=BYTES raises both). `
          : `may owe ${readWindow} bytes, in chunks of that size (--read-window). `) +
        `GB/s = 10^9 bytes/s, ` +
        `medians of per-batch rates. ${placed.description}.`;
      return dmaReport(byKey, sizes, setup);
    } finally {
      for (const c of Object.values(clients)) await c.close();
      for (const s of servers) await s.close();
      placed.restore();
    }
  },
};
