/** `vfio-user write SOCKET REGION OFFSET HEXBYTES`: writes bytes to a region and waits for the server. */
import { Command } from 'commander';
import { withClientOptions, type ClientFlags } from '../options.js';

/** The `write` command; its work is loaded only when it runs. */
export const writeCommand = (): Command =>
  withClientOptions(
    new Command('write')
      .description('write bytes to a region; prints nothing on success')
      .argument('<socket>', 'path of the vfio-user server socket')
      .argument('<region>', 'region index, or bar0..bar5, rom, config, vga')
      .argument('<offset>', 'offset in the region (decimal, or hex with 0x)')
      .argument('<hexbytes>', 'bytes in memory order, e.g. 01000000 (the 32-bit value 1) or de:ad:be:ef'),
  ).action(async (socket: string, region: string, offset: string, bytes: string, flags: ClientFlags) => {
    const { write } = await import('../actions/write.js');
    await write(socket, region, offset, bytes, flags);
  });
