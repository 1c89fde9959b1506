/**
 * What `vfio-user serve DEVICE (--socket-path PATH | --fd N)` does: serves a sample device, or the
 * device a module exports, in the foreground, one client at a time, until SIGTERM or SIGINT (then
 * the socket file is removed).
 */
import { existsSync, fstatSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { EMPTY, Observable, lastValueFrom, merge, takeUntil, tap } from 'rxjs';
import { serve, signal$, type PciDevice, type ServeTarget, type ServerActivity, type ServerEvent } from '../../server/index.js';
import { sampleDevices } from '../../samples/index.js';
import { sampleNames, type SampleName } from '../../samples/catalog.js';
import { errnoName } from '../../protocol/index.js';
import { parseNumber } from '../args.js';
import { CliError, errnoText, usageError } from '../errors.js';
import type { TraceEvent } from '../../wire/trace.js';
import { formatServerEvent } from '../format/events.js';
import { traceLine } from '../format/payload.js';
import { print, printError } from '../output.js';
import type { ServeFlags } from '../options.js';


/** An inherited fd, checked to be a socket before the server takes it over. */
const socketFd = (text: string): number => {
  const fd = parseNumber(text, 'fd');
  let isSocket: boolean;
  try {
    isSocket = fstatSync(fd).isSocket();
  } catch {
    throw new CliError(`fd ${fd} is not an open file descriptor`);
  }
  if (!isSocket) throw new CliError(`fd ${fd} is not a socket`);
  return fd;
};

const targetOf = (flags: ServeFlags): ServeTarget => {
  if (flags.socketPath !== undefined) return { socketPath: flags.socketPath };
  if (flags.fd !== undefined) return { fd: socketFd(flags.fd) };
  throw usageError('serve needs --socket-path PATH or --fd N');
};

/** A failure to bind names the path and the reason in words. */
const listenFailure = (err: unknown, target: ServeTarget): unknown => {
  const e = err as { code?: unknown; syscall?: unknown; errno?: unknown };
  if (e.code !== 'ERR_VFIO_USER_NATIVE' || typeof e.errno !== 'number') return err;
  const where = 'socketPath' in target ? target.socketPath : `fd ${target.fd}`;
  return new CliError(`cannot listen on ${where}: ${errnoText(errnoName(e.errno))}`);
};

const show = (name: string, verbose: boolean) => (e: ServerEvent) => {
  if (e.kind === 'device-error') printError(formatServerEvent(e, name));
  else if (e.kind === 'listening' || verbose) print(formatServerEvent(e, name));
};

/** Serves until a signal; resolves once everything is closed and the socket file removed. */
const serveUntilStopped = async (device: PciDevice, target: ServeTarget, flags: ServeFlags): Promise<void> => {
  const verbose = flags.verbose === true;
  const name = device.name;
  const stop$ = signal$('SIGTERM', 'SIGINT').pipe(tap((s) => verbose && print(`stopping on ${s}`)));
  // Loaded only with --metrics: prom-client costs every other run its memory and start-up time.
  const metrics = flags.metrics === undefined ? undefined : (await import('../metrics.js')).cliMetrics(flags.metrics, 'serve', (l) => print(`metrics at ${l.url}`));
  const onTrace = (e: TraceEvent) => {
    if (flags.trace) print(traceLine(e));
    metrics?.feed(e);
  };
  const options = {
    whenBusy: flags.queue ? ('queue' as const) : ('refuse' as const),
    ...(flags.trace || metrics ? { onTrace } : {}),
    ...(metrics ? { onActivity: (a: ServerActivity) => metrics.feed(a) } : {}),
  };
  const served$: Observable<ServerEvent> = merge(serve(device, target, options).pipe(tap(show(name, verbose))), metrics?.run$ ?? EMPTY).pipe(takeUntil(stop$));
  return lastValueFrom(served$, { defaultValue: undefined }).then(
    () => undefined,
    (err: unknown) => Promise.reject(listenFailure(err, target)),
  );
};

/** A sample device; what its options cannot make (a size, an unreadable file) is the user's error, said plainly. */
const createSample = (name: SampleName, options: Parameters<(typeof sampleDevices)[SampleName]['create']>[0]): PciDevice => {
  try {
    return sampleDevices[name].create(options);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (err instanceof RangeError || typeof e.code === 'string') throw new CliError(`serve ${name}: ${e.message}`);
    throw err;
  }
};

/** A 16-bit PCI id. */
const parseId = (text: string, what: string): number => {
  const n = parseNumber(text, what);
  if (n < 0 || n > 0xffff) throw usageError(`serve: --${what} ${text} is not a 16-bit id`);
  return n;
};

const SIZE_UNITS: Readonly<Record<string, number>> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** A byte count: a number, or with a K, M, G or T suffix (powers of 1024; KiB and KB alike). */
const parseSize = (text: string, what: string): number => {
  const m = /^(\d+)\s*([kmgt]?)(i?b)?$/i.exec(text.trim());
  const n = m ? Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]! : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) throw usageError(`serve: --${what} ${text} is not a size (e.g. 4096, 64M, 1G)`);
  return n;
};

/** The nvme sample's storage flags. */
const storageOf = (flags: ServeFlags): { backing?: string; size?: number; blockSize?: 512 | 4096 } => {
  const blockSize = flags.blockSize === undefined ? undefined : parseSize(flags.blockSize, 'block-size');
  if (blockSize !== undefined && blockSize !== 512 && blockSize !== 4096) throw usageError(`serve: --block-size ${flags.blockSize}: 512 or 4096`);
  return {
    ...(flags.backing !== undefined ? { backing: resolve(flags.backing) } : {}),
    ...(flags.size !== undefined ? { size: parseSize(flags.size, 'size') } : {}),
    ...(blockSize !== undefined ? { blockSize } : {}),
  };
};

const isDevice = (x: unknown): x is PciDevice => {
  const d = x as Partial<PciDevice> | undefined;
  return typeof d === 'object' && d !== null && Array.isArray(d.regions) && typeof d.config === 'object' && typeof d.irqCounts === 'object';
};

/** Imports a module: plain `import()`, or through tsx for TypeScript (a devDependency the user may not have). */
const importModule = async (file: string): Promise<Record<string, unknown>> => {
  const url = pathToFileURL(file).href;
  if (!/\.[cm]?tsx?$/.test(file)) return (await import(url)) as Record<string, unknown>;
  let tsImport: (specifier: string, parent: string) => Promise<unknown>;
  try {
    ({ tsImport } = (await import('tsx/esm/api')) as { tsImport: typeof tsImport });
  } catch {
    throw new CliError(`${file} is TypeScript: install tsx beside vfio-user-rx (npm i -D tsx), or serve its compiled JavaScript`);
  }
  return (await tsImport(url, import.meta.url)) as Record<string, unknown>;
};

/** The device a module exports: `default` or `device`, a PciDevice or a function that returns one. */
export const deviceFromModule = async (path: string): Promise<PciDevice> => {
  const file = resolve(path);
  if (!existsSync(file)) throw usageError(`serve: '${path}' is neither a sample device (${sampleNames.join(', ')}) nor a file`);
  const mod = await importModule(file);
  for (const key of ['default', 'device']) {
    const value = mod[key];
    const device = typeof value === 'function' ? await (value as () => unknown)() : value;
    if (isDevice(device)) return device;
  }
  throw new CliError(`${path} exports no device: export default (or device) a PciDevice made with pciDevice(), or a function that returns one`);
};

/** Serves the sample device NAME, or the device the module at that path exports, until SIGTERM or SIGINT. */
export const serveDevice = async (name: string, flags: ServeFlags): Promise<void> => {
  const target = targetOf(flags);
  const ids = {
    ...(flags.vendorId !== undefined ? { vendorId: parseId(flags.vendorId, 'vendor-id') } : {}),
    ...(flags.deviceId !== undefined ? { deviceId: parseId(flags.deviceId, 'device-id') } : {}),
  };
  const isSample = (sampleNames as readonly string[]).includes(name);
  if (!isSample && Object.keys(ids).length > 0) throw usageError('serve: --vendor-id and --device-id are for the sample devices (a module sets its own ids)');
  const storage = storageOf(flags);
  if (name !== 'nvme' && Object.keys(storage).length > 0) throw usageError('serve: --backing, --size and --block-size are for the nvme sample');
  const device = isSample ? createSample(name as SampleName, { ids, ...storage }) : await deviceFromModule(name);
  return serveUntilStopped(device, target, flags);
};
