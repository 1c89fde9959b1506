/** What `vfio-user info` does: open the device and print what the client discovered. */
import { baseClassName, hexdumpConfig } from '../../pci/index.js';
import type { Device } from '../../client/index.js';
import type { InfoFlags } from '../options.js';
import { infoJson, toJson } from '../format/info-json.js';
import { infoLines } from '../format/info.js';
import { clientOptions, withDevice } from '../open.js';
import { print } from '../output.js';

const hex4 = (n: number): string => n.toString(16).padStart(4, '0');

/**
 * Config space in the form `lspci -F <file>` reads: a `bus:dev.fn` line, then `##: xx xx ...` rows
 * (lspci takes the device line for a new device and the hex rows as its config bytes).
 */
export const configHexLines = (dev: Device): string[] => {
  const c = dev.config;
  return [`00:00.0 ${baseClassName(c.baseClass)}: Device ${hex4(c.vendorId)}:${hex4(c.deviceId)}`, ...hexdumpConfig(dev.configBytes)];
};

/** Prints the device behind `socket` as text, JSON or config hex. */
export const info = (socket: string, flags: InfoFlags): Promise<void> =>
  withDevice(clientOptions(socket, flags), async (dev) => {
    if (flags.configHex) return print(...configHexLines(dev));
    const features = await dev.probeFeatures();
    if (flags.json) print(toJson(infoJson(dev, socket, features)));
    else print(...infoLines(dev, socket, features));
  });
