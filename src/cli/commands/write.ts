/** `vfio-user write SOCKET REGION OFFSET HEXBYTES`: writes bytes to a region and waits for the server. */
import { Command } from 'commander';
import { parseHexBytes, parseNumber, parseRegion } from '../args.js';
import { clientOptions, withClientOptions, withDevice, type ClientFlags } from '../open.js';
import { checkAccess, regionOf } from '../regions.js';

/** The `write` command. */
export const writeCommand = (): Command =>
  withClientOptions(
    new Command('write')
      .description('write bytes to a region; prints nothing on success')
      .argument('<socket>', 'path of the vfio-user server socket')
      .argument('<region>', 'region index, or bar0..bar5, rom, config, vga')
      .argument('<offset>', 'offset in the region (decimal, or hex with 0x)')
      .argument('<hexbytes>', 'bytes in memory order, e.g. 01000000 (the 32-bit value 1) or de:ad:be:ef'),
  ).action(async (socket: string, regionText: string, offsetText: string, bytesText: string, flags: ClientFlags) => {
    const index = parseRegion(regionText);
    const offset = parseNumber(offsetText, 'offset');
    const data = parseHexBytes(bytesText);
    await withDevice(clientOptions(socket, flags), async (dev) => {
      const region = regionOf(dev, index);
      checkAccess(region, offset, data.length, 'write');
      // Not posted: a failure must reach the user, and success means the server has done it.
      await region.write(offset, data, { posted: false });
    });
  });
