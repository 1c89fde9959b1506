// The package as a user gets it: `npm pack`, install the tarball into an empty project (offline, from
// the npm cache that `npm ci` filled), import it from a .mjs file, type-check a strict TypeScript
// consumer made with `tsc --init`, and run `vfio-user --version` and `vfio-user demo` from the
// project's node_modules/.bin. Prints one line per step; exits non-zero at the first failure.
//
//   node scripts/check-package.mjs [--keep]    --keep leaves the temporary project for a look
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const work = mkdtempSync(path.join(tmpdir(), 'vfio-user-rx-package-'));
const consumer = path.join(work, 'consumer');
const npm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ['npm'];
const quiet = { npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false', FORCE_COLOR: '0' };

const run = (what, cmd, args, cwd, timeoutMs = 300_000) => {
  const started = Date.now();
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...quiet }, timeout: timeoutMs });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (r.status !== 0) {
    console.log(`package check: FAILED: ${what} (${r.error?.message ?? `exit ${r.status ?? r.signal}`})`);
    console.log(`${r.stdout ?? ''}${r.stderr ?? ''}`.trim());
    cleanup();
    process.exit(1);
  }
  console.log(`package check: ok: ${what} (${seconds} s)`);
  return r.stdout;
};

const cleanup = () => {
  if (process.argv.includes('--keep')) console.log(`package check: kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
};

const check = (what, ok, detail = '') => {
  if (ok) return console.log(`package check: ok: ${what}`);
  console.log(`package check: FAILED: ${what}${detail ? `: ${detail}` : ''}`);
  cleanup();
  process.exit(1);
};

// 1. The tarball, made as `npm publish` would make it (prepack and prepare run).
const packed = JSON.parse(run('npm pack', npm[0], [...npm.slice(1), 'pack', '--json', '--pack-destination', work], root));
const tarball = path.join(work, packed[0].filename);
const names = packed[0].files.map((f) => f.path);
check(`tarball holds ${names.length} files, none from spec/ or bench/`, !names.some((n) => /^(spec|bench)\//.test(n)));
for (const needed of ['dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'bin/vfio-user.js', 'LICENSE', 'README.md', 'binding.gyp']) {
  check(`tarball holds ${needed}`, names.includes(needed));
}
check('tarball holds a linux-x64 prebuild', names.some((n) => /^prebuilds\/linux-x64\/.+\.node$/.test(n)));

// 2. An empty project installs it with its peer (rxjs) and Node's types, from the cache only. `npm
//    install NAME@VERSION --offline` asks for full registry documents that `npm ci` never cached, so
//    the project gets a lock file made from ours (the same versions and integrity) and runs `npm ci`.
mkdirSync(consumer);
const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
const tarballSpec = `file:../${packed[0].filename}`;
const wanted = { [pkg.name]: tarballSpec, rxjs: pkg.devDependencies.rxjs, '@types/node': pkg.devDependencies['@types/node'] };
const registry = `${run('npm config get registry', npm[0], [...npm.slice(1), 'config', 'get', 'registry'], root).trim().replace(/\/$/, '')}/`;
const consumerLock = { name: 'consumer', lockfileVersion: 3, requires: true, packages: { '': { name: 'consumer', dependencies: wanted } } };
/** Adds the lock entry that `name`, required from the package at `from`, resolves to, and its dependencies. */
const include = (name, from) => {
  for (let dir = from; ; dir = dir.includes('node_modules/') ? dir.slice(0, dir.lastIndexOf('/node_modules/')) : '') {
    const key = `${dir ? `${dir}/` : ''}node_modules/${name}`;
    const entry = lock.packages[key];
    if (entry) {
      if (consumerLock.packages[key]) return;
      const { dev: _dev, devOptional: _devOptional, ...kept } = entry;
      // With its tarball's address and integrity, npm takes a package from the cache by integrity alone.
      const bare = name.split('/').at(-1);
      consumerLock.packages[key] = { resolved: `${registry}${name}/-/${bare}-${entry.version}.tgz`, ...kept };
      for (const dep of Object.keys(entry.dependencies ?? {})) include(dep, key);
      return;
    }
    if (!dir) throw new Error(`package check: ${name} (needed by ${from || 'the consumer'}) is not in package-lock.json`);
  }
};
consumerLock.packages[`node_modules/${pkg.name}`] = {
  version: pkg.version,
  resolved: tarballSpec,
  integrity: packed[0].integrity,
  license: pkg.license,
  hasInstallScript: true,
  dependencies: pkg.dependencies,
  peerDependencies: pkg.peerDependencies,
  peerDependenciesMeta: pkg.peerDependenciesMeta,
  bin: pkg.bin,
  engines: pkg.engines,
  os: pkg.os,
};
for (const dep of Object.keys(pkg.dependencies)) include(dep, `node_modules/${pkg.name}`);
include('rxjs', '');
include('@types/node', '');
writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: wanted }, null, 2));
writeFileSync(path.join(consumer, 'package-lock.json'), JSON.stringify(consumerLock, null, 2));
run('npm ci --offline of the tarball, rxjs and @types/node', npm[0], [...npm.slice(1), 'ci', '--offline'], consumer);
const installed = path.join(consumer, 'node_modules', pkg.name);
check('installed package has no build/ (the prebuild served; nothing was compiled)', !existsSync(path.join(installed, 'build')));
check('one copy of rxjs in the project', !existsSync(path.join(installed, 'node_modules', 'rxjs')));

// 3. Plain JavaScript: import it from a .mjs file and use the addon, a device and the client.
writeFileSync(
  path.join(consumer, 'use.mjs'),
  `import { openDevice, serve, samples } from 'vfio-user-rx';
import { Observable } from 'rxjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'consumer-'));
const socketPath = join(dir, 'gpio.sock');
const served = serve(samples.gpioDevice(), { socketPath });
if (!(served instanceof Observable)) throw new Error('serve() does not return an Observable of the rxjs the user has');
let listening;
const ready = new Promise((resolve, reject) => (listening = { resolve, reject }));
const sub = served.subscribe({ next: (e) => e.kind === 'listening' && listening.resolve(), error: (err) => listening.reject(err) });
await ready;
const dev = await openDevice({ socketPath });
console.log(\`vendor 0x\${dev.config.vendorId.toString(16)} device 0x\${dev.config.deviceId.toString(16)}, \${dev.regions.length} regions\`);
await dev.close();
sub.unsubscribe();
rmSync(dir, { recursive: true, force: true });
`,
);
const used = run('node use.mjs (serve a sample, open it with the client)', process.execPath, ['use.mjs'], consumer, 60_000);
check('use.mjs read the device ids', /^vendor 0x[0-9a-f]+ device 0x[0-9a-f]+, \d+ regions$/m.test(used), used.trim());

// 4. TypeScript: `tsc --init` defaults (strict, module nodenext), a consumer that mixes the
//    library's Observables with its own rxjs, checked once as initialised and once with the
//    library's declarations checked too (skipLibCheck off).
const tsc = require.resolve('typescript/bin/tsc');
run('tsc --init', process.execPath, [tsc, '--init'], consumer);
writeFileSync(
  path.join(consumer, 'consumer.ts'),
  `import { openDevice, guestMemory, pciDevice, memoryBar, RemoteError, type Device, type ClientOptions } from 'vfio-user-rx';
import { map, type Observable } from 'rxjs';

const memory = guestMemory();
const options: ClientOptions = { socketPath: '/tmp/none.sock', memory };
export const vectors = (dev: Device): Observable<number> => dev.rx.interrupts$.pipe(map((irq) => irq.vector));
export const open = async (): Promise<number> => {
  try {
    const dev = await openDevice(options);
    const bytes: Buffer = await dev.region(0).read(0, 4);
    await dev.close();
    return bytes.readUInt32LE(0);
  } catch (err) {
    if (err instanceof RemoteError) return -err.errno;
    throw err;
  }
};
export const device = pciDevice({ ids: { vendorId: 0x1234, deviceId: 0x5678, classCode: 0xff0000 }, bars: { 0: memoryBar(4096, { read: (offset, count) => Buffer.alloc(count, offset) }) } });
`,
);
run('tsc --noEmit on a strict consumer (tsc --init defaults)', process.execPath, [tsc, '--noEmit', '-p', '.'], consumer);
run('tsc --noEmit with skipLibCheck off (the declarations themselves)', process.execPath, [tsc, '--noEmit', '-p', '.', '--skipLibCheck', 'false'], consumer);

// 5. The command, from node_modules/.bin.
const bin = path.join(consumer, 'node_modules', '.bin', 'vfio-user');
const version = run('vfio-user --version', bin, ['--version'], consumer, 30_000);
check(`vfio-user --version prints ${pkg.version}`, version.trim() === pkg.version, version.trim());
const demo = run('vfio-user demo', bin, ['demo'], consumer, 120_000);
check('vfio-user demo verified the copy', /verified: /.test(demo) && /\[demo\] done/.test(demo), demo.trim());

console.log(`package check: passed (${readdirSync(work).length} items in ${work})`);
cleanup();
