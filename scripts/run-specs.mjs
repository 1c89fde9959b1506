// Runs every spec file in its own process group (a crash, a hang or a leaked child stays in its file),
// two at a time, and ends with the line `N passed, N failed`.
//
//   node scripts/run-specs.mjs [FILTER...]      only the files whose path contains a FILTER
//   SPEC_FILE_TIMEOUT_S=N                        seconds a file may take before its group is killed (default 900)
//   SPEC_JOBS=N                                  files run at once (default 2)
//
// A file counts as failed when it exits non-zero, times out, or prints no uvu summary or a summary
// of zero tests (a file that never calls .run() registers nothing and proves nothing).
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const positive = (name, fallback) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`run-specs: ${name} must be a positive number, not "${process.env[name]}"`);
    process.exit(2);
  }
  return value;
};
const FILE_TIMEOUT_MS = positive('SPEC_FILE_TIMEOUT_S', 900) * 1000;
const JOBS = Math.floor(positive('SPEC_JOBS', 2));
const filters = process.argv.slice(2);

const walk = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? walk(full) : name.endsWith('.spec.ts') ? [full] : [];
  });

const files = walk(path.join(root, 'spec'))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();

/** Kills a file's whole process group: the spec and whatever it started and left behind. */
const killGroup = (pid) => {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // ESRCH: the group is already gone.
  }
};

/** The counts of the last uvu summary in a file's output, or undefined when it printed none. */
const lastSummary = (out) => {
  const totals = [...out.matchAll(/Total:\s+(\d+)\s+Passed:\s+(\d+)\s+Skipped:\s+(\d+)/g)];
  const last = totals.at(-1);
  return last && { total: Number(last[1]), passed: Number(last[2]), skipped: Number(last[3]) };
};

const verdict = (out, code, timedOut) => {
  const summary = lastSummary(out);
  if (timedOut) return { passed: summary?.passed ?? 0, failed: 1, why: `timed out after ${FILE_TIMEOUT_MS / 1000} s` };
  if (!summary) return { passed: 0, failed: 1, why: `no test summary (exit ${code})` };
  if (summary.total === 0) return { passed: 0, failed: 1, why: 'registered no test' };
  const failed = summary.total - summary.passed - summary.skipped;
  if (code !== 0 && failed === 0) return { passed: summary.passed, failed: 1, why: `exit ${code} after its tests passed` };
  return { passed: summary.passed, failed, why: failed > 0 ? `${failed} failed` : '' };
};

/** Process groups of the files running now. */
const running = new Set();

const runFile = (file) =>
  new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      env: { ...process.env, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    running.add(child.pid);
    let out = '';
    let timedOut = false;
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, FILE_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      // Children the spec started and did not end (a served device, a peer) go with it.
      killGroup(child.pid);
      running.delete(child.pid);
      const v = verdict(out, code ?? signal, timedOut);
      if (v.why && timedOut) out += `\n(${v.why}: killed with its process group)\n`;
      resolve({ file: path.relative(root, file), out, ms: Date.now() - started, ...v });
    });
  });

const results = [];
let next = 0;
const worker = async () => {
  while (next < files.length) {
    const r = await runFile(files[next++]);
    results.push(r);
    const status = r.failed > 0 ? `${r.passed} passed, ${r.failed} failed: ${r.why}` : `${r.passed} passed`;
    process.stdout.write(`\n## ${r.file}  (${status}; ${(r.ms / 1000).toFixed(1)} s)\n${r.out}`);
  }
};
// Stopping the runner stops the files it runs, with whatever they started.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const pid of running) killGroup(pid);
    process.exit(130);
  });
}
await Promise.all(Array.from({ length: Math.min(JOBS, files.length) }, worker));

const slowest = [...results].sort((a, b) => b.ms - a.ms).slice(0, 5);
console.log(`\nslowest files: ${slowest.map((r) => `${r.file} ${(r.ms / 1000).toFixed(1)} s`).join(', ')}`);
const passed = results.reduce((n, r) => n + r.passed, 0);
const failed = results.reduce((n, r) => n + r.failed, 0) + (files.length === 0 ? 1 : 0);
const bad = results.filter((r) => r.failed > 0).map((r) => `${r.file} (${r.why})`);
if (files.length === 0) console.log(`\nno spec file matched ${filters.join(' ')}`);
if (bad.length) console.log(`\nfailing files: ${bad.join(', ')}`);
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
