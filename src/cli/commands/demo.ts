/** `vfio-user demo`: a device served and driven in one process (see actions/demo.ts). */
import { Command } from 'commander';
import type { DemoFlags } from '../options.js';

/** The `demo` command; its work is loaded only when it runs. */
export const demoCommand = (): Command =>
  new Command('demo')
    .description('serve the dma-engine sample in-process, open it, run a DMA copy and check it; no other process needed')
    .option('--message-dma', 'map guest memory without fds, so the device uses DMA_READ/DMA_WRITE messages')
    .option('--trace', 'print every message exchanged, decoded, as monitor does')
    .action(async (flags: DemoFlags) => {
      const { demo } = await import('../actions/demo.js');
      await demo(flags);
    });
