/** `vfio-user migrate SOURCE DEST`: moves a device's state from one server to another. */
import { Command, Option } from 'commander';
import { withClientOptions, type MigrateFlags } from '../options.js';

/** The `migrate` command; its work is loaded only when it runs. */
export const migrateCommand = (): Command =>
  withClientOptions(
    new Command('migrate')
      .description('move the state of the device at SOURCE into the device at DEST, which then runs (SOURCE is left stopped)')
      .argument('<source>', 'socket of the server whose device state moves')
      .argument('<dest>', 'socket of the server that takes it (a device of the same kind)')
      .addOption(new Option('--pre-copy-rounds <n>', 'pre-copy rounds at most, when the source offers PRE_COPY (0: none)').default('3'))
      .addOption(new Option('--converge <bytes>', 'end pre-copy after a round that moved at most this many bytes').default('0'))
      .addHelpText(
        'after',
        `\nProgress goes to stderr, one line per round; the last line on stdout says how many bytes moved.
On any failure the source runs again, the destination is reset, and the exit status is 1.`,
      ),
  ).action(async (source: string, dest: string, flags: MigrateFlags) => {
    const { migrate } = await import('../actions/migrate.js');
    await migrate(source, dest, flags);
  });
