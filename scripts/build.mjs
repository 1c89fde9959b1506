// Builds the JavaScript the package ships:
// - dist/: the library, compiled by tsc module for module, with declarations (users import it;
//   rxjs and the other dependencies stay imports, so a user's rxjs is the library's rxjs);
// - dist/cli/: the `vfio-user` command, bundled by esbuild with code splitting, so that each
//   subcommand loads only its own code in a few files (a CLI start reads 3-6 files, not 600).
// Needs the devDependencies (typescript, esbuild): it runs in a checkout, not where the package is installed.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

const step = async (what, fn) => {
  const started = process.hrtime.bigint();
  await fn();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (process.env.VFIO_USER_BUILD_VERBOSE) console.error(`build: ${what} in ${ms.toFixed(0)} ms`);
};

const tsc = () => {
  const result = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (result.status !== 0) {
    console.error('build: tsc failed (see above)');
    process.exit(result.status ?? 1);
  }
};

// rxjs's exports send Node to its CommonJS build, which loads every operator (about 90 ms of a
// CLI start); its ES module build lets esbuild keep only the operators the command uses.
const rxjsEsm = {
  name: 'rxjs-esm',
  setup(build) {
    const esm = path.join(path.dirname(require.resolve('rxjs/package.json')), 'dist', 'esm', 'index.js');
    build.onResolve({ filter: /^rxjs$/ }, () => ({ path: esm }));
  },
};

const bundleCli = async () => {
  const esbuild = await import('esbuild');
  const outdir = path.join(root, 'dist', 'cli');
  await esbuild.build({
    absWorkingDir: root,
    entryPoints: ['src/cli/main.ts'],
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    chunkNames: 'chunks/[name]-[hash]',
    // node-gyp-build finds the addon at run time beside the installed package.
    // tsx is loaded only to serve a TypeScript module, from wherever the user installed it.
    external: ['node-gyp-build', 'tsx/esm/api'],
    plugins: [rxjsEsm],
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    // commander is CommonJS and requires Node's modules; an ES module has no require of its own.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    logLevel: 'warning',
  });
};

// A file moved or removed in src/ must not live on in dist/ (and in the package) from an earlier build.
rmSync(path.join(root, 'dist'), { recursive: true, force: true });
await step('tsc (library and declarations)', tsc);
await step('esbuild (CLI)', bundleCli);
