/** Where the CLI writes: results to stdout, diagnostics to stderr, one line at a time. */

/** Prints lines to stdout. */
export const print = (...lines: readonly string[]): void => {
  if (lines.length > 0 && !muted) process.stdout.write(`${lines.join('\n')}\n`);
};

/** Prints lines to stderr. */
export const printError = (...lines: readonly string[]): void => {
  if (lines.length > 0) process.stderr.write(`${lines.join('\n')}\n`);
};

/** How long a line printed with a LinePrinter may wait to be written. */
export const LINE_DELAY_MS = 20;

/** Lines gathered and written to stdout together (see linePrinter). */
export interface LinePrinter {
  /** Takes a line; it is written within LINE_DELAY_MS. */
  print(line: string): void;
  /** Writes what is waiting now (before anything else is printed, and before exit). */
  flush(): void;
}

/**
 * A printer for a stream of lines that should cost the process little: one write to stdout per
 * LINE_DELAY_MS rather than one per line (a write to a pipe or terminal is synchronous in Node, and a
 * tap that prints each message would otherwise spend its time there instead of forwarding).
 */
export const linePrinter = (): LinePrinter => {
  let lines: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (lines.length === 0) return;
    const out = lines;
    lines = [];
    print(...out);
  };
  return {
    print: (line) => {
      lines.push(line);
      timer ??= setTimeout(flush, LINE_DELAY_MS);
    },
    flush,
  };
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
