// Opens COUNT devices served on DIR/<i>.sock (compiled package) and, for MS milliseconds, keeps one
// synchronous 1-byte BAR2 read in flight per device. Prints one JSON line: ops, latency p50/p99 (us).
import { join } from 'node:path';
import { openDevice } from '../../dist/index.js';

const [dir, countText, msText] = process.argv.slice(2);
const count = Number(countText);
const devices = await Promise.all(Array.from({ length: count }, (_, i) => openDevice({ socketPath: join(dir, `${i}.sock`), timeoutMs: Number(process.env.DRIVE_TIMEOUT_MS ?? 30_000) })));
const latencies = [];
const end = performance.now() + Number(msText);
const loop = async (dev) => {
  const region = dev.region(2);
  while (performance.now() < end) {
    const t0 = performance.now();
    await region.read(0, 1);
    latencies.push((performance.now() - t0) * 1000);
  }
};
const started = performance.now();
await Promise.all(devices.map(loop));
const seconds = (performance.now() - started) / 1000;
await Promise.all(devices.map((d) => d.close()));
latencies.sort((a, b) => a - b);
const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
console.log(JSON.stringify({ ops: latencies.length, seconds, p50: at(0.5), p99: at(0.99) }));
