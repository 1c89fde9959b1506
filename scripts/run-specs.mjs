// Runs every spec file in its own process (a crash or a leaked handle stays in its file),
// two at a time, and ends with the line `N passed, N failed`.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FILE_TIMEOUT_MS = 180_000;
const filters = process.argv.slice(2);

const walk = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? walk(full) : name.endsWith('.spec.ts') ? [full] : [];
  });

const files = walk(path.join(root, 'spec'))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();

const runFile = (file) =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      env: { ...process.env, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      out += `\n(timed out after ${FILE_TIMEOUT_MS} ms)\n`;
      child.kill('SIGKILL');
    }, FILE_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      const num = (label) => Number((out.match(new RegExp(`${label}:\\s+(\\d+)`)) ?? [])[1] ?? 0);
      const total = num('Total');
      const passed = num('Passed');
      const skipped = num('Skipped');
      // A file that dies before its summary counts as one failure at least.
      const failed = Math.max(total - passed - skipped, code === 0 ? 0 : 1);
      resolve({ file: path.relative(root, file), out, passed, failed, code });
    });
  });

const results = [];
let next = 0;
const worker = async () => {
  while (next < files.length) {
    const r = await runFile(files[next++]);
    results.push(r);
    process.stdout.write(`\n## ${r.file}  (${r.passed} passed, ${r.failed} failed)\n${r.out}`);
  }
};
await Promise.all([worker(), worker()]);

const passed = results.reduce((n, r) => n + r.passed, 0);
const failed = results.reduce((n, r) => n + r.failed, 0);
const bad = results.filter((r) => r.failed > 0).map((r) => r.file);
if (bad.length) console.log(`\nfailing files: ${bad.join(', ')}`);
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed > 0 || files.length === 0 ? 1 : 0);
