/**
 * The transport benchmark: a 16-byte ping-pong between two processes, in C, on the bare native
 * channel, and through the frame layer with correlation. Every variant is opened (peer spawned,
 * warmed up) first; then short batches of each run in turn, cycle after cycle, so drift on a
 * shared machine hits every variant alike and the ratios stay meaningful. Processes are pinned
 * (--pin=same|cross|none, default same) because CPU placement otherwise dominates the figures.
 */
import { intOption, type Benchmark } from './lib/types.js';
import { compileCBaseline } from './transport/c-baseline.js';
import { place } from './transport/placement.js';
import { pool, transportReport } from './transport/report.js';
import { variants, type Batch, type Session } from './transport/variants.js';

/** The benchmark, for the registry of bench/run.ts. */
export const transport: Benchmark = {
  name: 'transport',
  description: '16-byte ping-pong between two processes: C, bare native channel, frame layer with correlation',
  run: async (context) => {
    const total = intOption(context, 'roundtrips', 20_000);
    const batchSize = Math.min(total, intOption(context, 'batch', 500));
    const warmup = intOption(context, 'warmup', 2_000);
    const cycles = Math.ceil(total / batchSize);
    const c = await compileCBaseline();
    if (!c.available) context.progress(`C baseline skipped: ${c.reason}`);
    const placed = place(context.options);
    const list = variants(c, placed.placement);
    const sessions: Session[] = [];
    try {
      for (const variant of list) {
        context.progress(`opening ${variant.key} (${warmup} warm-up round trips)`);
        sessions.push(await variant.open(warmup));
      }
      const batches: Batch[][] = list.map(() => []);
      for (let cycle = 0; cycle < cycles; cycle++) {
        // Rotating the order keeps any position effect (a neighbour's burst, CPU clocks) off one variant.
        for (let k = 0; k < list.length; k++) {
          const i = (k + cycle) % list.length;
          batches[i]!.push(await sessions[i]!.batch(batchSize));
        }
        if ((cycle + 1) % 10 === 0) context.progress(`cycle ${cycle + 1}/${cycles}`);
      }
      const peers = await Promise.all(sessions.splice(0).map((s) => s.close()));
      const results = list.map((v, i) => pool(v, batches[i]!, peers[i]!));
      const setup =
        `${cycles * batchSize} round trips per variant, run as ${cycles} cycles of one ${batchSize}-round-trip batch ` +
        `per variant (after ${warmup} warm-up round trips); ${placed.description}; times in microseconds; ratios of medians; ` +
        'CPU is user+system (user) microseconds per round trip of the initiating and of the echoing process.';
      return transportReport(results, setup, c.available ? undefined : c.reason);
    } finally {
      await Promise.allSettled(sessions.map((s) => s.close()));
      placed.restore();
      if (c.available) c.dispose();
    }
  },
};
