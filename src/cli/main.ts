/** Entry point of the `vfio-user` command (bin/vfio-user.js imports it). */
import { run } from './program.js';
import { stopOnClosedStdout, printError } from './output.js';

/** How long a finished command may wait for its handles to close before the process exits anyway. */
const EXIT_GRACE_MS = 2000;

stopOnClosedStdout();
const code = await run(process.argv);
process.exitCode = code;
// Every command closes what it opened, so the process normally ends at once. The timer does not
// keep it alive; it only fires if something else still does, and then a CLI must not hang.
setTimeout(() => {
  if (process.env['VFIO_USER_DEBUG'] === '1' || process.argv.includes('--debug')) {
    printError(`vfio-user: debug: still open after the command ended: ${process.getActiveResourcesInfo().join(', ')}`);
  }
  process.exit(code);
}, EXIT_GRACE_MS).unref();
