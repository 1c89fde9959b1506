/** `vfio-user tap --listen A --connect B`: a transparent proxy that prints every message it passes on (see actions/tap.ts). */
import { Command } from 'commander';
import { withSelectOptions, type TapFlags } from '../options.js';

/** The `tap` command; its work is loaded only when it runs. */
export const tapCommand = (): Command =>
  withSelectOptions(
    new Command('tap')
      .description('sit between any vfio-user client and server: pass every message and fd on unchanged, print each one decoded')
      .requiredOption('--listen <path>', 'create a socket here (mode 0600) for the client to connect to')
      .requiredOption('--connect <path>', 'the server\'s socket, connected to once per client')
      .option('--pcap <file>', 'write every message to this pcapng file as it goes (open it with dissector/vfio-user.lua)')
      .option('--metrics <host:port>', 'serve Prometheus metrics of the traffic at http://HOST:PORT/metrics (:PORT for 127.0.0.1)')
      .option('-q, --quiet', 'print no message lines (notes only)'),
  )
    .addHelpText(
      'after',
      [
        '',
        'Lines as monitor prints them, seen from the client: `->` client to server, `<-` server to client,',
        '`#` a note. Filters choose the lines printed; --pcap and --metrics see every message.',
        'The tap never changes a byte. When it cannot pass something on faithfully (a corrupt frame) it says',
        'so and closes both sides; a side that closes closes the other. The twin socket is relayed too.',
        'Runs until SIGINT or SIGTERM.',
      ].join('\n'),
    )
    .action(async (flags: TapFlags) => {
      const { runTap } = await import('../actions/tap.js');
      await runTap(flags);
    });
