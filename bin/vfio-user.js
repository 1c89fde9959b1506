#!/usr/bin/env node
// The `vfio-user` command: runs the compiled CLI in dist/cli (built by `npm run build`, shipped in the package).
try {
  await import('../dist/cli/main.js');
} catch (err) {
  // Only loading can fail here (the addon does not fit this machine, or a checkout was never built);
  // main reports its own errors.
  const missing = err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli/main.js');
  console.error(`vfio-user: ${missing ? 'the CLI is not built; run `npm run build`' : err instanceof Error ? err.message : String(err)}`);
  if (process.env.VFIO_USER_DEBUG) console.error(err);
  process.exit(1);
}
