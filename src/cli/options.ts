/** The flags each command parses, and the options shared by the commands that open a device; nothing here loads the client. */
import { Option, type Command } from 'commander';

/** The client options every command that opens a device shares. */
export interface ClientFlags {
  readonly timeout?: string;
}

/** Adds the options every device-opening command takes. */
export const withClientOptions = (cmd: Command): Command =>
  cmd.addOption(new Option('--timeout <ms>', 'reply timeout per request in ms (0 = none)').default('5000', '5000'));

/** The flags of `demo`. */
export interface DemoFlags {
  readonly messageDma?: boolean;
  readonly trace?: boolean;
}

/** The flags of `info`. */
export interface InfoFlags extends ClientFlags {
  readonly json?: boolean;
  readonly configHex?: boolean;
}

/** The flags of `monitor`. */
export interface MonitorFlags extends ClientFlags {
  readonly duration?: string;
  readonly count?: string;
  readonly write: readonly string[];
}

/** The flags of `migrate`. */
export interface MigrateFlags extends ClientFlags {
  readonly preCopyRounds: string;
  readonly converge: string;
}

/** The flags of `serve`. */
export interface ServeFlags {
  readonly socketPath?: string;
  readonly fd?: string;
  readonly verbose?: boolean;
  readonly trace?: boolean;
  readonly queue?: boolean;
  readonly metrics?: string;
  readonly vendorId?: string;
  readonly deviceId?: string;
  readonly backing?: string;
  readonly size?: string;
  readonly blockSize?: string;
}

/** The message filters of `tap` and `decode`. */
export interface SelectFlags {
  readonly command: readonly string[];
  readonly region: readonly string[];
  readonly errors?: boolean;
}

/** The flags of `tap`. */
export interface TapFlags extends SelectFlags {
  readonly listen: string;
  readonly connect: string;
  readonly pcap?: string;
  readonly quiet?: boolean;
  readonly metrics?: string;
}

/** Adds the message filters `tap` and `decode` share. */
export const withSelectOptions = (cmd: Command): Command =>
  cmd
    .addOption(
      new Option('--command <name>', 'only this command and its replies (a name such as REGION_WRITE or region_write, or a number; repeatable)')
        .argParser((v: string, all: readonly string[]) => [...all, v])
        .default([], 'all'),
    )
    .addOption(
      new Option('--region <region>', 'only accesses to this region and its info queries, with their replies (index, or bar0..bar5, rom, config, vga; repeatable)')
        .argParser((v: string, all: readonly string[]) => [...all, v])
        .default([], 'all'),
    )
    .option('--errors', 'only error replies');
