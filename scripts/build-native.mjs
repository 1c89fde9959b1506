// The native addon: makes sure one that fits this machine is there, building it only when needed.
//
//   node scripts/build-native.mjs             build when build/Release is missing or older than its sources
//   node scripts/build-native.mjs --install   the package's install script: nothing to do when a local
//                                             build or a shipped prebuild loads; otherwise build
//   node scripts/build-native.mjs --prebuild  build if needed, then copy into prebuilds/<platform>-<arch>/
//                                             (what `npm pack` ships, so users need no compiler)
//   --force                                   build even when up to date
//
// A build happens in a staging folder and the new addon replaces the old one by rename, so a CLI
// running from this folder never finds the addon missing. It builds against the running Node's own
// headers when they are on this machine (an offline machine has none to download).
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));
const args = new Set(process.argv.slice(2));
const ADDON = 'vfio_user_native.node';
const built = path.join(root, 'build', 'Release', ADDON);
const stampFile = path.join(root, 'build', 'vfio_user_native.stamp');
const sourceDir = path.join(root, 'src', 'native', 'addon');

const say = (line) => console.error(`build-native: ${line}`);
const fail = (line) => {
  say(line);
  process.exit(1);
};

/** A digest of everything the addon is built from: a build with the same digest is up to date. */
const sourceDigest = () => {
  const hash = createHash('sha256');
  const files = ['binding.gyp', ...readdirSync(sourceDir).sort().map((f) => path.join('src', 'native', 'addon', f))];
  for (const f of files) hash.update(f).update('\0').update(readFileSync(path.join(root, f))).update('\0');
  let addonApi = 'none';
  try {
    addonApi = require('node-addon-api/package.json').version;
  } catch {
    // Reported by the toolchain check when a build is needed.
  }
  return hash.update(`node-addon-api ${addonApi} ${process.platform}-${process.arch}`).digest('hex');
};

const upToDate = () => existsSync(built) && existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === sourceDigest();

/** Whether node-gyp-build finds an addon here that this Node can load (a local build or a prebuild). */
const loadable = () => {
  try {
    require('node-gyp-build')(root);
    return true;
  } catch {
    return false;
  }
};

const onPath = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

/** node-gyp: npm's own during npm's scripts, else the devDependency, else one on PATH. */
const nodeGyp = () => {
  if (process.env.npm_config_node_gyp && existsSync(process.env.npm_config_node_gyp)) return [process.execPath, process.env.npm_config_node_gyp];
  try {
    return [process.execPath, require.resolve('node-gyp/bin/node-gyp.js')];
  } catch {
    return onPath('node-gyp') ? ['node-gyp'] : undefined;
  }
};

/** The headers of the running Node, when this machine has them (otherwise node-gyp downloads them). */
const localNodeDir = () => {
  const candidates = [process.env.npm_config_nodedir, path.resolve(process.execPath, '..', '..')].filter(Boolean);
  return candidates.find((dir) => existsSync(path.join(dir, 'include', 'node', 'node_api.h')));
};

/** Everything a build needs, or one line naming what is missing. */
const toolchain = () => {
  const missing = [];
  if (!onPath('python3') && !onPath('python')) missing.push('python3');
  if (!onPath('make')) missing.push('make');
  if (!onPath(process.env.CXX ?? 'c++') && !onPath('g++') && !onPath('clang++')) missing.push('a C++ compiler (g++ or clang++)');
  const gyp = nodeGyp();
  if (!gyp) missing.push('node-gyp (npm ships one; run the build through npm)');
  try {
    require.resolve('node-addon-api');
  } catch {
    missing.push('node-addon-api (run npm install first)');
  }
  if (missing.length > 0) {
    fail(`cannot build the native addon for ${process.platform}-${process.arch}: missing ${missing.join(', ')}`);
  }
  return { gyp, nodeDir: localNodeDir() };
};

const build = () => {
  const { gyp, nodeDir } = toolchain();
  const stage = path.join(root, 'build', `stage-${process.pid}`);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(path.join(stage, 'src', 'native'), { recursive: true });
  copyFileSync(path.join(root, 'binding.gyp'), path.join(stage, 'binding.gyp'));
  cpSync(sourceDir, path.join(stage, 'src', 'native', 'addon'), { recursive: true });
  try {
    const gypArgs = [...gyp.slice(1), 'rebuild', '--loglevel=warn', ...(nodeDir ? [`--nodedir=${nodeDir}`] : [])];
    const result = spawnSync(gyp[0], gypArgs, { cwd: stage, stdio: 'inherit' });
    if (result.status !== 0) fail(`node-gyp failed (exit ${result.status ?? result.signal}); the output above says why`);
    mkdirSync(path.dirname(built), { recursive: true });
    // Rename is atomic: a process that loads the addon now gets the old file or the new one, whole.
    renameSync(path.join(stage, 'build', 'Release', ADDON), `${built}.tmp`);
    renameSync(`${built}.tmp`, built);
    writeFileSync(stampFile, `${sourceDigest()}\n`);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
};

/** Copies the local build where node-gyp-build looks for prebuilds (napi: one file for every Node). */
const prebuild = () => {
  if (process.platform !== 'linux') fail(`prebuilds are made on Linux only, not ${process.platform}`);
  const libc = process.report?.getReport().header.glibcVersionRuntime ? 'glibc' : 'musl';
  const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  copyFileSync(built, path.join(dir, `node.napi.${libc}.node`));
  say(`prebuild for ${process.platform}-${process.arch} (${libc}) in ${path.relative(root, dir)}`);
};

if (args.has('--install') && !args.has('--force')) {
  // A local build counts only while it matches its sources; a prebuild counts whenever it loads.
  const local = existsSync(built);
  if ((local && upToDate()) || (!local && loadable())) process.exit(0);
}
if (args.has('--force') || !upToDate()) build();
if (args.has('--prebuild')) prebuild();
