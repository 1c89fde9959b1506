/** `vfio-user read SOCKET REGION OFFSET [COUNT]`: a hexdump of bytes read from a region. */
import { Command } from 'commander';
import { parseNumber, parseRegion } from '../args.js';
import { usageError } from '../errors.js';
import { hexdump } from '../format/hexdump.js';
import { clientOptions, withClientOptions, withDevice, type ClientFlags } from '../open.js';
import { print } from '../output.js';
import { checkAccess, regionOf } from '../regions.js';

/** Bytes read when COUNT is not given: one hexdump line, or what is left of the region. */
export const DEFAULT_READ_COUNT = 16;

/** The `read` command. */
export const readCommand = (): Command =>
  withClientOptions(
    new Command('read')
      .description('read bytes from a region and print them as a hexdump (16 bytes a line)')
      .argument('<socket>', 'path of the vfio-user server socket')
      .argument('<region>', 'region index, or bar0..bar5, rom, config, vga')
      .argument('<offset>', 'offset in the region (decimal, or hex with 0x)')
      .argument('[count]', `bytes to read (default ${DEFAULT_READ_COUNT}, cut at the region's end)`),
  ).action(async (socket: string, regionText: string, offsetText: string, countText: string | undefined, flags: ClientFlags) => {
    const index = parseRegion(regionText);
    const offset = parseNumber(offsetText, 'offset');
    const count = countText === undefined ? undefined : parseNumber(countText, 'count');
    if (count === 0) throw usageError('count must be above 0');
    await withDevice(clientOptions(socket, flags), async (dev) => {
      const region = regionOf(dev, index);
      const n = count ?? Math.max(1, Math.min(DEFAULT_READ_COUNT, region.info.size - offset));
      checkAccess(region, offset, n, 'read');
      print(...hexdump(await region.read(offset, n), offset));
    });
  });
