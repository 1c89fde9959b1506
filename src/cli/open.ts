/** Opening a device for one command and closing it whatever happens. */
import { statSync } from 'node:fs';
import { openDevice, type ClientOptions, type Device } from '../client/index.js';
import { parseMs } from './args.js';
import { CliError } from './errors.js';
import type { ClientFlags } from './options.js';

/** Client options for a socket path and the shared flags. */
export const clientOptions = (socketPath: string, flags: ClientFlags, extra: ClientOptions = {}): ClientOptions => ({
  socketPath,
  timeoutMs: parseMs(flags.timeout ?? '5000', 'timeout'),
  ...extra,
});

// Linux refuses a connect to a file that is not a socket with ECONNREFUSED, which would send
// the user looking for a server; the file itself is the mistake.
const sharpen = (err: unknown, path: string | undefined): unknown => {
  const e = err as { code?: unknown; errno?: unknown };
  if (path === undefined || e.code !== 'ERR_VFIO_USER_CONNECT' || e.errno !== 'ECONNREFUSED') return err;
  const stat = statSync(path, { throwIfNoEntry: false });
  return stat && !stat.isSocket() ? new CliError(`cannot connect to ${path}: not a socket`) : err;
};

/** Opens the device, runs `use`, and closes the device (also when `use` fails). */
export const withDevice = async <T>(options: ClientOptions, use: (dev: Device) => Promise<T>): Promise<T> => {
  const dev = await openDevice(options).catch((err: unknown) => Promise.reject(sharpen(err, options.socketPath)));
  try {
    return await use(dev);
  } finally {
    await dev.close();
  }
};
