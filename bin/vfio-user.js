#!/usr/bin/env node
// The `vfio-user` command: runs the TypeScript sources through tsx, so no build step is needed.
import { register } from 'tsx/esm/api';

register();
try {
  await import('../src/cli/main.ts');
} catch (err) {
  // Only loading can fail here (e.g. the native addon was never built); main reports its own errors.
  console.error(`vfio-user: ${err instanceof Error ? err.message : String(err)}`);
  if (process.env.VFIO_USER_DEBUG) console.error(err);
  process.exit(1);
}
