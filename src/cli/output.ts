/** Where the CLI writes: results to stdout, diagnostics to stderr, one line at a time. */

/** Prints lines to stdout. */
export const print = (...lines: readonly string[]): void => {
  if (lines.length > 0 && !muted) process.stdout.write(`${lines.join('\n')}\n`);
};

/** Prints lines to stderr. */
export const printError = (...lines: readonly string[]): void => {
  if (lines.length > 0) process.stderr.write(`${lines.join('\n')}\n`);
};

/** The time of day as `HH:MM:SS.mmm` (UTC), as trace lines show it. */
export const clock = (timestamp: number = Date.now()): string => new Date(timestamp).toISOString().slice(11, 23);

let muted = false;

/**
 * When the reader of stdout goes away (`vfio-user monitor ... | head`), stops printing and asks the
 * running command to stop as SIGTERM would (it closes what it opened), instead of dying on EPIPE.
 */
export const stopOnClosedStdout = (): void => {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    if (muted) return;
    muted = true;
    process.emit('SIGTERM', 'SIGTERM');
  });
};
