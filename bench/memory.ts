/**
 * The memory benchmark: RSS and heap of the client and of the server after a full GC (both run
 * with --expose-gc), after a warm-up and then after each phase of 1,000,000 REGION_READs and after
 * 100,000 MSI-X interrupts, with the client correlator's pending count at each checkpoint. The
 * client runs in a child process (bench/memory/client.ts) so that its heap holds nothing of the
 * benchmark runner; the server is the benchmark device's server process.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { intOption, type Benchmark } from './lib/types.js';
import { startServer, type ServerProcess } from './lib/vfu-server.js';
import type { MemoryRun } from './memory/client.js';
import { memoryReport } from './memory/report.js';
import { place } from './transport/placement.js';

const CLIENT = fileURLToPath(new URL('./memory/client.ts', import.meta.url));

const runClient = (args: readonly string[], progress: (line: string) => void): Promise<MemoryRun> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', CLIENT, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line) return reject(new Error(`memory client exited with ${signal ?? code}: ${out.trim()}`));
      progress('client done');
      resolve(JSON.parse(line) as MemoryRun);
    });
  });

/** The benchmark, for the registry of bench/run.ts. */
export const memory: Benchmark = {
  name: 'memory',
  description: 'client and server heap and RSS over 1,000,000 requests and 100,000 interrupts, pending requests',
  run: async (context) => {
    const requests = intOption(context, 'requests', 1_000_000);
    const interrupts = intOption(context, 'interrupts', 100_000);
    const depth = intOption(context, 'depth', 64);
    const phases = intOption(context, 'phases', 4);
    const warmup = intOption(context, 'warmup', 20_000);
    const placed = place(context.options);
    let server: ServerProcess | undefined;
    try {
      server = await startServer({ nodeArgs: ['--expose-gc'], ...(placed.placement.peerPrefix ? { prefix: placed.placement.peerPrefix } : {}) });
      context.progress(`client: ${warmup} warm-up requests, then ${requests} requests (depth ${depth}) and ${interrupts} interrupts`);
      const run = await runClient([server.socketPath, String(requests), String(interrupts), String(depth), String(phases), String(warmup)].map(String), context.progress);
      const setup =
        `Client (child process) and server (child process) both run with --expose-gc; every checkpoint is taken after two full GCs in each ` +
        `(the server's through the benchmark device's MEMORY register). Warm-up: ${warmup} requests and ${Math.ceil(warmup / 10)} interrupts. ` +
        `Requests: REGION_READ of 4 bytes through the Observable API, ${depth} in flight, in ${phases} phases. Interrupts: MSI-X vector 0, ` +
        `each raised by a posted write and received (eventfd) before the next write. Growth is measured from the first checkpoint. ` +
        `${placed.description}.`;
      return memoryReport(run, setup);
    } finally {
      await server?.close();
      placed.restore();
    }
  },
};
