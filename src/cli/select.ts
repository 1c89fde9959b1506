/** The `--command`, `--region` and `--errors` filters of `tap` and `decode`, as a message selection. */
import { Command, type CommandName } from '../protocol/constants.js';
import type { MessageSelection } from '../operators/index.js';
import { parseNumber, parseRegion } from './args.js';
import { usageError } from './errors.js';
import type { SelectFlags } from './options.js';

/** A command given by name (any case, with or without `VFIO_USER_`) or by number. */
export const parseCommand = (text: string): number => {
  const name = text.trim().toUpperCase().replace(/^VFIO_USER_/, '');
  if (name in Command) return Command[name as CommandName];
  if (/^(0x[0-9a-f]+|[0-9]+)$/i.test(name)) return parseNumber(text, 'command');
  throw usageError(`command "${text}" is none of ${Object.keys(Command).join(', ')} (or give its number)`);
};

/** The selection the flags ask for. */
export const selectionOf = (flags: SelectFlags): MessageSelection => ({
  ...(flags.command.length > 0 ? { commands: flags.command.map(parseCommand) } : {}),
  ...(flags.region.length > 0 ? { regions: flags.region.map(parseRegion) } : {}),
  ...(flags.errors ? { errors: true } : {}),
});
