/**
 * CPU pinning through util-linux `taskset`. Node has no affinity API, and a ping-pong's latency
 * on a small VM depends mostly on whether the scheduler puts both processes on one core (a
 * context switch) or on two (a cross-core wake-up, several times slower), which it decides
 * differently from one process pair to the next. Pinning makes that choice once for every variant.
 */
import { execFileSync } from 'node:child_process';

/** How a benchmark places its processes. */
export type PinMode = 'same' | 'cross' | 'none';

/** Parses a --pin option. */
export const pinMode = (raw: string | undefined): PinMode => {
  if (raw === undefined) return 'same';
  if (raw === 'same' || raw === 'cross' || raw === 'none') return raw;
  throw new Error(`--pin must be same, cross or none, got ${raw}`);
};

const taskset = (args: readonly string[]): string => execFileSync('taskset', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** Whether `taskset` can be run here. */
export const hasTaskset = (): boolean => {
  try {
    taskset(['-p', String(process.pid)]);
    return true;
  } catch {
    return false;
  }
};

/**
 * Pins every thread of this process to `cpu` (children spawned afterwards inherit it); returns
 * a function that puts the previous affinity back.
 */
export const pinSelf = (cpu: number): (() => void) => {
  const pid = String(process.pid);
  const mask = /mask:\s*([0-9a-f]+)/i.exec(taskset(['-p', pid]))?.[1];
  if (!mask) throw new Error('taskset printed no affinity mask');
  taskset(['-a', '-p', '-c', String(cpu), pid]);
  return () => void taskset(['-a', '-p', mask, pid]);
};

/** The command prefix that runs a program pinned to `cpu`. */
export const onCpu = (cpu: number): readonly string[] => ['taskset', '-c', String(cpu)];
