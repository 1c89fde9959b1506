/** `vfio-user decode FILE`: a pcapng capture (tap --pcap) in the trace format (see actions/decode.ts). */
import { Command } from 'commander';
import { withSelectOptions, type SelectFlags } from '../options.js';

/** The `decode` command; its work is loaded only when it runs. */
export const decodeCommand = (): Command =>
  withSelectOptions(
    new Command('decode')
      .description('print a pcapng capture of vfio-user messages (as tap --pcap writes) in the trace format')
      .argument('<file>', 'the capture file'),
  ).action(async (file: string, flags: SelectFlags) => {
    const { decodeCapture } = await import('../actions/decode.js');
    await decodeCapture(file, flags);
  });
