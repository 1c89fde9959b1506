/**
 * What `vfio-user serve DEVICE (--socket-path PATH | --fd N)`: serves a sample device in the foreground,
 * one client at a time, until SIGTERM or SIGINT (then the socket file is removed).
 */
import { fstatSync } from 'node:fs';
import { Observable, lastValueFrom, takeUntil, tap } from 'rxjs';
import { serve, signal$, type ServeTarget, type ServerEvent } from '../../server/index.js';
import { sampleDevices, type SampleName } from '../../samples/index.js';
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
const serveUntilStopped = (name: SampleName, target: ServeTarget, flags: ServeFlags): Promise<void> => {
  const verbose = flags.verbose === true;
  const device = sampleDevices[name].create();
  const stop$ = signal$('SIGTERM', 'SIGINT').pipe(tap((s) => verbose && print(`stopping on ${s}`)));
  const options = {
    whenBusy: flags.queue ? ('queue' as const) : ('refuse' as const),
    ...(flags.trace ? { onTrace: (e: TraceEvent) => print(traceLine(e)) } : {}),
  };
  const served$: Observable<ServerEvent> = serve(device, target, options).pipe(tap(show(name, verbose)), takeUntil(stop$));
  return lastValueFrom(served$, { defaultValue: undefined }).then(
    () => undefined,
    (err: unknown) => Promise.reject(listenFailure(err, target)),
  );
};

/** Serves the sample device NAME on the socket the flags name, until SIGTERM or SIGINT. */
export const serveSample = (name: SampleName, flags: ServeFlags): Promise<void> => serveUntilStopped(name, targetOf(flags), flags);
