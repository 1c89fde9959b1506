/**
 * What `vfio-user tap --listen A --connect B` does: relays every client of A to the server at B,
 * printing each message live in the trace format (filtered), writing them all to a pcapng capture
 * with --pcap and counting them for Prometheus with --metrics, until SIGINT or SIGTERM.
 */
import { EMPTY, filter, lastValueFrom, merge, share, takeUntil, tap } from 'rxjs';
import { captureWriter, openCaptureFile, type CaptureFile } from '../../capture/index.js';
import { selectMessages } from '../../operators/index.js';
import { errnoName } from '../../protocol/index.js';
import { signal$ } from '../../server/index.js';
import { tap$, type TapEvent, type TapListening, type TapMessage } from '../../tap/index.js';
import { CliError, errnoText } from '../errors.js';
import { traceLine } from '../format/payload.js';
import type { TapFlags } from '../options.js';
import { linePrinter, print, printError, type LinePrinter } from '../output.js';
import { selectionOf } from '../select.js';

type Note = Exclude<TapEvent | TapListening, TapMessage>;

// Notes are written at once, after the message lines gathered before them.
const note = (e: Note, flags: TapFlags, lines: LinePrinter): void => {
  lines.flush();
  switch (e.kind) {
    case 'listening':
      return print(`# tap listening on ${flags.listen}, relaying each client to ${flags.connect}`);
    case 'connected':
      return print(`# session ${e.session}: a client connected; the tap connected to the server`);
    case 'closed':
      print(`# session ${e.session} ended: ${e.reason}`);
      // A conversation the tap had to cut is worth a line where errors go, too.
      if (e.corrupt) printError(`vfio-user tap: session ${e.session}: ${e.reason}`);
  }
};

/** The capture file, opened before the tap listens (an unwritable path fails at once). */
const openCapture = (file: string): Promise<CaptureFile> =>
  openCaptureFile(file).catch((err: NodeJS.ErrnoException) => Promise.reject(new CliError(`cannot write ${file}: ${err.code ?? err.message}`)));

const listenFailure = (err: unknown, path: string): unknown => {
  const e = err as { code?: unknown; errno?: unknown };
  if (e.code !== 'ERR_VFIO_USER_NATIVE' || typeof e.errno !== 'number') return err;
  return new CliError(`cannot listen on ${path}: ${errnoText(errnoName(e.errno))}`);
};

/** Runs the tap until a signal; the capture is complete on disk when it resolves. */
export const runTap = async (flags: TapFlags): Promise<void> => {
  const selection = selectionOf(flags);
  const pcap = flags.pcap === undefined ? undefined : await openCapture(flags.pcap);
  const capture = pcap && captureWriter((block) => pcap.write(block));
  // Loaded only with --metrics: prom-client costs every other run its memory and start-up time.
  const metrics = flags.metrics === undefined ? undefined : (await import('../metrics.js')).cliMetrics(flags.metrics, 'tap', (l) => print(`# metrics at ${l.url}`));
  const lines = linePrinter();
  // Notes subscribe first (see the merge below): the first subscription starts the tap, and `listening` comes at once.
  // With nothing to print, capture or count, the tap only forwards: no fd is described, no payload decoded.
  const messages = !flags.quiet || capture !== undefined || metrics !== undefined;
  // A signal stops the tap: every conversation still open ends with its note, then the run ends.
  const stop$ = signal$('SIGTERM', 'SIGINT').pipe(share());
  const events$ = tap$({ listen: { socketPath: flags.listen }, connect: flags.connect }, { messages, stop$ }).pipe(share());
  const messages$ = events$.pipe(
    filter((e): e is TapMessage => e.kind === 'message'),
    tap((e) => {
      capture?.(e);
      metrics?.feed(e);
    }),
    selectMessages(selection),
    tap((e) => flags.quiet || lines.print(traceLine(e))),
  );
  const notes$ = events$.pipe(
    filter((e): e is Note => e.kind !== 'message'),
    tap((e) => note(e, flags, lines)),
  );
  try {
    await lastValueFrom(merge(notes$, messages$, (metrics?.run$ ?? EMPTY).pipe(takeUntil(stop$))), { defaultValue: undefined });
  } catch (err) {
    throw listenFailure(err, flags.listen);
  } finally {
    lines.flush();
    await pcap?.close();
  }
};
