/**
 * CPU accounting of an echo peer: counts the messages it answers, starts measuring once the
 * warm-up ones are done, and prints its figures as one JSON line on stdout when the parent hangs up.
 * With BENCH_PEER_PROFILE=<file> in its environment it also CPU-profiles the measured part and
 * writes the profile there (see bench/profile-transport.ts).
 */
import { writeFileSync } from 'node:fs';
import { startProfiler, type Profiler } from '../lib/profiler.js';

/** What a peer reports to the benchmark (microseconds of CPU over the measured messages). */
export interface PeerReport {
  readonly messages: number;
  readonly user: number;
  readonly system: number;
}

/** A peer's meter. */
export interface Meter {
  /** Records `n` more messages answered. */
  count(n: number): void;
  /** Writes the profile if any, then prints the report line (once). */
  report(): Promise<void>;
}

const PROFILE_FILE = process.env['BENCH_PEER_PROFILE'];
const PROFILE_INTERVAL_US = Number(process.env['BENCH_PROFILE_INTERVAL_US'] ?? 100);

/** Starts a meter that ignores the first `warmup` messages. */
export const meter = (warmup: number): Meter => {
  let seen = 0;
  let mark: NodeJS.CpuUsage | undefined;
  let profiler: Promise<Profiler> | undefined;
  let reported = false;
  const begin = () => {
    mark = process.cpuUsage();
    if (PROFILE_FILE) profiler = startProfiler(PROFILE_INTERVAL_US);
  };
  if (warmup === 0) begin();
  return {
    count: (n) => {
      seen += n;
      if (!mark && seen >= warmup) begin();
    },
    report: async () => {
      if (reported) return;
      reported = true;
      const cpu = process.cpuUsage(mark);
      if (profiler && PROFILE_FILE) writeFileSync(PROFILE_FILE, JSON.stringify(await (await profiler).stop()));
      const line: PeerReport = { messages: Math.max(0, seen - warmup), user: cpu.user, system: cpu.system };
      process.stdout.write(`${JSON.stringify(line)}\n`);
    },
  };
};

/** Reads the peer's arguments: the socket fd, the number of warm-up messages, and a mode. */
export const peerArgs = (): { fd: number; warmup: number; mode: string } => {
  const [fd, warmup, mode] = process.argv.slice(2);
  const parsed = { fd: Number(fd), warmup: Number(warmup), mode: mode ?? '' };
  if (!Number.isInteger(parsed.fd) || !Number.isInteger(parsed.warmup)) throw new Error('usage: <peer> <fd> <warmup> [mode]');
  return parsed;
};
