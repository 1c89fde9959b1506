/** `vfio-user monitor SOCKET`: every message and interrupt of a device, one line each (see actions/monitor.ts). */
import { Command, Option } from 'commander';
import { withClientOptions, type MonitorFlags } from '../options.js';

/** The `monitor` command; its work is loaded only when it runs. */
export const monitorCommand = (): Command =>
  withClientOptions(
    new Command('monitor')
      .description('enable a device\'s interrupts and print every message and interrupt, one timestamped line each')
      .argument('<socket>', 'path of the vfio-user server socket')
      .option('--duration <ms>', 'stop after this many milliseconds')
      .option('--count <n>', 'stop after this many interrupts')
      .addOption(
        new Option('--write <region:offset:hexbytes>', 'write to the device once interrupts are enabled (repeatable, in order), e.g. bar0:0x14:01000000')
          .argParser((v: string, all: readonly string[]) => [...all, v])
          .default([], 'none'),
      ),
  )
    .addHelpText(
      'after',
      [
        '',
        'Lines: `->` a message sent, `<-` a message received, `!!` an interrupt, `#` a note.',
        'Interrupts are enabled with SET_IRQS only; config space is left as it is (so a device',
        'whose MSI-X capability is off raises INTx). INTx is unmasked again after each interrupt.',
        'Runs until SIGINT or SIGTERM unless --duration or --count ends it first.',
      ].join('\n'),
    )
    .action(async (socket: string, flags: MonitorFlags) => {
      const { monitor } = await import('../actions/monitor.js');
      await monitor(socket, flags);
    });
