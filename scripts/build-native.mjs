// Builds the native addon with node-gyp against the headers of the running Node
// (never downloads headers: an offline machine has none to fetch).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const nodeDir = path.resolve(process.execPath, '..', '..');
if (!existsSync(path.join(nodeDir, 'include', 'node', 'node_api.h'))) {
  console.error(`build-native: no Node headers under ${nodeDir}/include/node`);
  process.exit(1);
}
let gyp;
try {
  gyp = require.resolve('node-gyp/bin/node-gyp.js');
} catch {
  console.error('build-native: node-gyp is not installed (run npm ci first)');
  process.exit(1);
}
const result = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodeDir}`, '--loglevel=warn'], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
