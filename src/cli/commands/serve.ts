/**
 * `vfio-user serve DEVICE (--socket-path PATH | --fd N)`: serves a sample device, or the device a
 * module exports, in the foreground, one client at a time, until SIGTERM or SIGINT (then the
 * socket file is removed).
 */
import { Argument, Command, Option } from 'commander';
import { sampleDescriptions } from '../../samples/catalog.js';
import type { ServeFlags } from '../options.js';

const deviceList = Object.entries(sampleDescriptions)
  .map(([name, description]) => `  ${name.padEnd(11)} ${description}`)
  .join('\n');

/** The `serve` command; its work is loaded only when it runs. */
export const serveCommand = (): Command =>
  new Command('serve')
    .description('serve a sample device, or the device a module exports, on a UNIX socket, in the foreground, one client at a time')
    .addArgument(new Argument('<device>', 'a sample device name, or the path of a module (.js, .mjs; .ts with tsx installed) that exports one'))
    .addOption(new Option('--socket-path <path>', 'create the listening socket at this path (mode 0600)').conflicts('fd'))
    .addOption(new Option('--fd <n>', 'serve on an inherited, already listening socket fd').conflicts('socketPath'))
    .option('-v, --verbose', 'print a line per client connection and disconnection')
    .option('--trace', 'print every message exchanged with clients, decoded, as monitor does')
    .option('--vendor-id <id>', 'a sample\'s PCI vendor id instead of its default (e.g. 0x1234)')
    .option('--device-id <id>', 'a sample\'s PCI device id instead of its default')
    .option('--backing <file>', 'nvme: the file that backs the namespace (created when missing); default: anonymous memory')
    .option('--size <bytes>', 'nvme: namespace size (e.g. 64M, 1G; default: the file\'s size, or 64M in memory)')
    .option('--block-size <bytes>', 'nvme: logical block size, 512 (default) or 4096')
    .option('--metrics <host:port>', 'serve Prometheus metrics (messages, errors, latency, posted writes, DMA bytes, interrupts, DMA maps) at http://HOST:PORT/metrics')
    .option('--queue', 'keep a client that connects while another is served waiting (default: refuse it with EBUSY)')
    .addHelpText('after', `\nSample devices:\n${deviceList}\n\nA module exports its device as \`default\` or \`device\`: a PciDevice (made with pciDevice()),
or a function that returns one.\n\ndma-engine, ram and nvme default to ids in the range QEMU documents as free for experimental use
(1af4:10f0, 1af4:10f1 and 1af4:10f2; Linux's nvme driver binds to nvme by its class code); a device that leaves the lab needs ids of its own (--vendor-id, --device-id).
gpio has the ACCES PCI-IDIO-16's ids, which Linux's gpio_pci_idio_16 driver binds to.\n\nA client that connects while another is served is refused at once (its first message gets EBUSY:
"the device is in use by another client"), unless --queue keeps it waiting until the first leaves.
SIGTERM or SIGINT stops the server and removes the socket file.`)
    .action(async (name: string, flags: ServeFlags) => {
      const { serveDevice } = await import('../actions/serve.js');
      await serveDevice(name, flags);
    });
