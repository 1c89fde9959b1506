/** `vfio-user read SOCKET REGION OFFSET [COUNT]`: a hexdump of bytes read from a region. */
import { Command } from 'commander';
import { withClientOptions, type ClientFlags } from '../options.js';

/** The `read` command; its work is loaded only when it runs. */
export const readCommand = (): Command =>
  withClientOptions(
    new Command('read')
      .description('read bytes from a region and print them as a hexdump (16 bytes a line)')
      .argument('<socket>', 'path of the vfio-user server socket')
      .argument('<region>', 'region index, or bar0..bar5, rom, config, vga')
      .argument('<offset>', 'offset in the region (decimal, or hex with 0x)')
      .argument('[count]', "bytes to read (default 16, cut at the region's end)"),
  ).action(async (socket: string, region: string, offset: string, count: string | undefined, flags: ClientFlags) => {
    const { read } = await import('../actions/read.js');
    await read(socket, region, offset, count, flags);
  });
