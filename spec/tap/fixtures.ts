// A device served on a temp socket, a tap in front of it, and helpers to compare what each side saw.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ReplaySubject, Subject, filter, firstValueFrom, type Observable, type Subscription } from 'rxjs';
import { serve, type PciDevice, type ServeOptions, type ServerEvent } from '../../src/server/index.js';
import { tap$, type TapEvent, type TapListening, type TapMessage, type TapOptions } from '../../src/tap/index.js';
import type { TraceEvent } from '../../src/wire/trace.js';
import { formatFdList } from '../../src/protocol/index.js';

/** A message as compared between the sides: every header field, the fds (what each is: kind, memfd name and size) and the payload bytes. */
export const key = (e: TraceEvent, flip = false): string => {
  const direction = flip ? (e.direction === 'in' ? 'out' : 'in') : e.direction;
  return [direction, e.type, e.id, e.commandName, e.size, e.flags, e.errno, e.fdCount, formatFdList(e.fdInfo ?? []), e.payload?.toString('hex') ?? ''].join(' ');
};

/** A served device with a tap in front of it. */
export interface Tapped {
  readonly dir: string;
  readonly serverPath: string;
  readonly tapPath: string;
  /** The server's trace, as keys seen from the client (directions flipped). */
  readonly serverKeys: string[];
  readonly serverEvents: ServerEvent[];
  readonly tapEvents: (TapEvent | TapListening)[];
  /** The tap's messages as keys, taken as they came. */
  readonly tapKeys: string[];
  /** The tap's messages as they come (hot). */
  readonly messages$: Observable<TapMessage>;
  /** Resolves with the tap's `closed` event of conversation `session`. */
  closed(session?: number): Promise<Extract<TapEvent, { kind: 'closed' }>>;
  stopServer(): void;
  close(): void;
}

/** Serves `device` and puts a tap in front of it (started once both are listening). */
export const tapped = async (device: PciDevice, options: TapOptions = {}, serveOptions: ServeOptions = {}): Promise<Tapped> => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vfio-user-tap-'));
  const serverPath = path.join(dir, 'server.sock');
  const tapPath = path.join(dir, 'tap.sock');
  const serverKeys: string[] = [];
  const serverEvents: ServerEvent[] = [];
  const served = new ReplaySubject<ServerEvent>();
  const server: Subscription = serve(device, { socketPath: serverPath }, {
    ...serveOptions,
    onTrace: (e) => {
      serverKeys.push(key(e, true));
      serveOptions.onTrace?.(e);
    },
  }).subscribe({
    next: (e) => {
      serverEvents.push(e);
      served.next(e);
    },
  });
  await firstValueFrom(served.pipe(filter((e) => e.kind === 'listening')));
  const tapEvents: (TapEvent | TapListening)[] = [];
  const tapKeys: string[] = [];
  const messages = new Subject<TapMessage>();
  const seen = new ReplaySubject<TapEvent | TapListening>();
  const tap = tap$({ listen: { socketPath: tapPath }, connect: serverPath }, options).subscribe({
    next: (e) => {
      // Keys are taken now: payloads are views of buffers the socket layer may reuse.
      tapEvents.push(e);
      if (e.kind === 'message') {
        tapKeys.push(key(e));
        messages.next(e);
      }
      seen.next(e);
    },
  });
  await firstValueFrom(seen.pipe(filter((e) => e.kind === 'listening')));
  return {
    dir,
    serverPath,
    tapPath,
    serverKeys,
    serverEvents,
    tapEvents,
    tapKeys,
    messages$: messages.asObservable(),
    closed: (session = 1) =>
      firstValueFrom(seen.pipe(filter((e): e is Extract<TapEvent, { kind: 'closed' }> => e.kind === 'closed' && e.session === session))),
    stopServer: () => server.unsubscribe(),
    close: () => {
      tap.unsubscribe();
      server.unsubscribe();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

/** Resolves once `check` holds, polling on each turn of the event loop. */
export const until = async (check: () => boolean, what = 'a condition', ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
};
