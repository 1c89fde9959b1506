/** The `vfio-user` command line: its commands, and how any failure ends as one line and an exit code. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { decodeCommand } from './commands/decode.js';
import { demoCommand } from './commands/demo.js';
import { infoCommand } from './commands/info.js';
import { migrateCommand } from './commands/migrate.js';
import { monitorCommand } from './commands/monitor.js';
import { readCommand } from './commands/read.js';
import { serveCommand } from './commands/serve.js';
import { tapCommand } from './commands/tap.js';
import { writeCommand } from './commands/write.js';
import { EXIT_USAGE, describeError } from './errors.js';
import { printError } from './output.js';
import { packageRoot } from '../native/root.js';

const version = (): string => {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
};

// Commander words its usage errors `error: ...`; every message of this tool starts `vfio-user: `.
const reword = (text: string): string => text.replace(/^error: /, 'vfio-user: ');

/** Builds the program with every command; it throws instead of exiting (exitOverride). */
export const createProgram = (): Command => {
  const program = new Command('vfio-user')
    .description('inspect, poke, monitor, serve, migrate and tap vfio-user devices (PCI devices emulated in another process)')
    .version(version())
    .option('--debug', 'print the stack of unexpected errors (also VFIO_USER_DEBUG=1)')
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(reword(text)) })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', '\nExit status: 0 on success, 1 when something failed, 2 when the command line is wrong.');
  for (const cmd of [demoCommand(), serveCommand(), infoCommand(), readCommand(), writeCommand(), monitorCommand(), migrateCommand(), tapCommand(), decodeCommand()]) {
    program.addCommand(cmd.copyInheritedSettings(program));
  }
  return program;
};

const debugging = (program: Command): boolean => program.opts().debug === true || process.env['VFIO_USER_DEBUG'] === '1';

/** Runs the command line `argv` (as process.argv) and resolves with the exit code; never rejects. */
export const run = async (argv: readonly string[]): Promise<number> => {
  const program = createProgram();
  if (argv.length <= 2) {
    program.outputHelp({ error: true });
    return EXIT_USAGE;
  }
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (err) {
    // Commander has already printed its message (or the help, or the version).
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : EXIT_USAGE;
    const failure = describeError(err);
    printError(`vfio-user: ${failure.message}`);
    if (debugging(program) && err instanceof Error && err.stack) printError(err.stack);
    return failure.exitCode;
  }
};
