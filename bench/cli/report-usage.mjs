// Preloaded (--import) into every process the cli benchmark measures: at exit, writes the process's
// own CPU time and peak RSS to the file named by BENCH_USAGE_OUT. The same hook runs in the
// baseline (`node -e 0`), so its small cost is on both sides of the ratio.
import { writeFileSync } from 'node:fs';

const out = process.env.BENCH_USAGE_OUT;
if (out) {
  process.on('exit', () => {
    const u = process.resourceUsage();
    writeFileSync(out, JSON.stringify({ cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000, maxRssKb: u.maxRSS }));
  });
}
