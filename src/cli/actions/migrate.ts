/** What `vfio-user migrate SOURCE DEST` does: open both devices and run migrate$ between them. */
import { migrateDevices, type MigrationProgress } from '../../client/index.js';
import { parseNumber } from '../args.js';
import { clientOptions, withDevice } from '../open.js';
import { print, printError } from '../output.js';
import type { MigrateFlags } from '../options.js';

const bytes = (n: number): string => `${n} byte${n === 1 ? '' : 's'}`;

/** One progress line. */
export const progressLine = (p: MigrationProgress): string => {
  switch (p.kind) {
    case 'pre-copy':
      return `pre-copy round ${p.round}: ${bytes(p.bytes)}`;
    case 'stop-copy':
      return `stop-and-copy: ${bytes(p.bytes)}`;
    case 'resumed':
      return `destination running: ${bytes(p.bytes)} moved`;
  }
};

/** Migrates the device at `source` into the device at `dest`. */
export const migrate = (source: string, dest: string, flags: MigrateFlags): Promise<void> => {
  const options = { preCopyRounds: parseNumber(flags.preCopyRounds, 'pre-copy-rounds'), convergeBytes: parseNumber(flags.converge, 'converge') };
  return withDevice(clientOptions(source, flags), (from) =>
    withDevice(clientOptions(dest, flags), async (to) => {
      for await (const p of migrateDevices(from, to, options)) {
        if (p.kind === 'resumed') print(`migrated ${source} to ${dest}: ${bytes(p.bytes)}`);
        else printError(progressLine(p));
      }
    }),
  );
};
