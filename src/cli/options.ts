/** Options shared by the commands that open a device, declared without loading the client. */
import { Option, type Command } from 'commander';

/** The client options every command that opens a device shares. */
export interface ClientFlags {
  readonly timeout?: string;
}

/** Adds the options every device-opening command takes. */
export const withClientOptions = (cmd: Command): Command =>
  cmd.addOption(new Option('--timeout <ms>', 'reply timeout per request in ms (0 = none)').default('5000', '5000'));
