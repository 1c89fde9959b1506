/** `vfio-user info SOCKET`: everything the client discovered about a device, like `lspci -vv`. */
import { Command } from 'commander';
import { baseClassName, hexdumpConfig } from '../../devices/pci/index.js';
import type { Device } from '../../devices/client/index.js';
import { infoJson, toJson } from '../format/info-json.js';
import { infoLines } from '../format/info.js';
import { clientOptions, withClientOptions, withDevice, type ClientFlags } from '../open.js';
import { print } from '../output.js';

interface InfoFlags extends ClientFlags {
  readonly json?: boolean;
  readonly configHex?: boolean;
}

const hex4 = (n: number): string => n.toString(16).padStart(4, '0');

/**
 * Config space in the form `lspci -F <file>` reads: a `bus:dev.fn` line, then `##: xx xx ...` rows
 * (lspci takes the device line for a new device and the hex rows as its config bytes).
 */
export const configHexLines = (dev: Device): string[] => {
  const c = dev.config;
  return [`00:00.0 ${baseClassName(c.baseClass)}: Device ${hex4(c.vendorId)}:${hex4(c.deviceId)}`, ...hexdumpConfig(dev.configBytes)];
};

/** The `info` command. */
export const infoCommand = (): Command =>
  withClientOptions(
    new Command('info')
      .description('show what a device offers: flags, regions, IRQs, decoded config space and capabilities')
      .argument('<socket>', 'path of the vfio-user server socket')
      .option('--json', 'print one JSON document instead of text')
      .option('--config-hex', 'print config space as hex, in the form `lspci -F` reads'),
  ).action(async (socket: string, flags: InfoFlags) => {
    await withDevice(clientOptions(socket, flags), async (dev) => {
      if (flags.json) print(toJson(infoJson(dev, socket)));
      else if (flags.configHex) print(...configHexLines(dev));
      else print(...infoLines(dev, socket));
    });
  });
