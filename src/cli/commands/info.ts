/** `vfio-user info SOCKET`: everything the client discovered about a device, like `lspci -vv`. */
import { Command } from 'commander';
import { withClientOptions, type InfoFlags } from '../options.js';

/** The `info` command; its work is loaded only when it runs. */
export const infoCommand = (): Command =>
  withClientOptions(
    new Command('info')
      .description('show what a device offers: flags, regions, IRQs, decoded config space and capabilities')
      .argument('<socket>', 'path of the vfio-user server socket')
      .option('--json', 'print one JSON document instead of text')
      .option('--config-hex', 'print config space as hex, in the form `lspci -F` reads'),
  ).action(async (socket: string, flags: InfoFlags) => {
    const { info } = await import('../actions/info.js');
    await info(socket, flags);
  });
