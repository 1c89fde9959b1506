/**
 * A vfio-user server process for the benchmarks: serves the benchmark device on a socket path
 * with the project's server framework, prints `listening` once it is bound, and stops cleanly
 * (client closed, socket removed) when its stdin ends, so it never outlives the benchmark.
 *
 * With BENCH_SERVER_PROFILE=<file> in its environment, SIGUSR2 starts CPU-profiling and a second
 * SIGUSR2 writes the profile there, so only the part a benchmark measures is sampled.
 *
 * usage: vfu-server.ts <socket path> [<limits as JSON, e.g. {"maxDmaMaps":20000}>]
 */
import { writeFileSync } from 'node:fs';
import { serve, type ServerLimits } from '../../src/server/index.js';
import { benchDevice } from '../devices/bench-device.js';
import { startProfiler, type Profiler } from '../lib/profiler.js';

const [socketPath, limitsJson] = process.argv.slice(2);
if (!socketPath) throw new Error('usage: vfu-server.ts <socket path> [<limits JSON>]');
const limits = (limitsJson ? JSON.parse(limitsJson) : {}) as Partial<ServerLimits>;

const subscription = serve(benchDevice(), { socketPath }, { limits }).subscribe({
  next: (e) => {
    if (e.kind === 'listening') process.stdout.write('listening\n');
    if (e.kind === 'device-error') console.error(`vfu-server: device error: ${String(e.error)}`);
  },
  error: (err: unknown) => {
    console.error(`vfu-server: ${(err as Error).message}`);
    process.exit(1);
  },
});

const stop = () => {
  subscription.unsubscribe();
  process.stdin.destroy();
};
process.stdin.on('end', stop).on('error', stop).resume();
process.on('SIGTERM', stop);

const PROFILE_FILE = process.env['BENCH_SERVER_PROFILE'];
const PROFILE_INTERVAL_US = Number(process.env['BENCH_PROFILE_INTERVAL_US'] ?? 100);
if (PROFILE_FILE) {
  let profiler: Promise<Profiler> | undefined;
  process.on('SIGUSR2', () => {
    if (!profiler) profiler = startProfiler(PROFILE_INTERVAL_US);
    else {
      const running = profiler;
      profiler = undefined;
      void running.then((p) => p.stop()).then((profile) => {
        writeFileSync(PROFILE_FILE, JSON.stringify(profile));
        process.stdout.write('profiled\n');
      });
    }
  });
}
