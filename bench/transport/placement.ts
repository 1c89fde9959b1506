/** Places the benchmark's processes on CPUs as the --pin option says (see bench/lib/affinity.ts). */
import os from 'node:os';
import { hasTaskset, onCpu, pinMode, pinSelf } from '../lib/affinity.js';
import type { Placement } from './variants.js';

/** The placement in force, how to undo it, and a sentence for the report. */
export interface Placed {
  readonly placement: Placement;
  readonly description: string;
  restore(): void;
}

const unpinned = (why: string): Placed => ({ placement: {}, description: why, restore: () => undefined });

/**
 * `same` (default): this process and every peer on one CPU (the last one unless --cpu=N), so a
 * round trip is both sides' CPU path plus two context switches. `cross`: peers on another CPU
 * than this process (cross-core wake-ups). `none`: the scheduler decides.
 */
export const place = (options: ReadonlyMap<string, string>): Placed => {
  const mode = pinMode(options.get('pin'));
  if (mode === 'none') return unpinned('processes not pinned (the scheduler places them)');
  if (!hasTaskset()) return unpinned('processes not pinned: no `taskset` on this machine');
  const cores = os.cpus().length;
  const cpu = options.has('cpu') ? Number(options.get('cpu')) : cores - 1;
  if (!Number.isInteger(cpu) || cpu < 0 || cpu >= cores) throw new Error(`--cpu must be a CPU number below ${cores}`);
  if (mode === 'same') {
    return { placement: {}, description: `every process pinned to CPU ${cpu} (--pin=same)`, restore: pinSelf(cpu) };
  }
  if (cores < 2) return unpinned('processes not pinned: --pin=cross needs two CPUs');
  const mine = cpu === 0 ? 1 : cpu - 1;
  return {
    placement: { peerPrefix: onCpu(cpu), cCpus: [mine, cpu] },
    description: `initiators pinned to CPU ${mine}, echoing peers to CPU ${cpu} (--pin=cross)`,
    restore: pinSelf(mine),
  };
};
