/**
 * Serving a device on a UNIX socket, following the spec's backend conventions: no daemonizing,
 * the socket created with mode 0600 (a stale file replaced, a live one refused), one client at
 * a time, and a clean end (socket file removed) on SIGTERM or SIGINT with serveUntilSignal.
 */
import { Observable, Subject, concat, defer, fromEvent, lastValueFrom, map, merge, of, take, takeUntil, tap } from 'rxjs';
import { native as defaultNative } from '../native/index.js';
import type { Channel, Native } from '../native/types.js';
import { listen$, type ListenTarget } from '../streams/listen.js';
import type { TraceEvent } from '../wire/trace.js';
import type { PciDevice } from './device.js';
import { nativeIo } from './io.js';
import { runDevice, type ServerEvent, type WhenBusy } from './run.js';
import type { ServerActivity } from './runtime.js';
import { serverConnection } from './session.js';
import { defaultLimits, type ServerLimits } from './state.js';

/** Options of serve. */
export interface ServeOptions {
  /** Limits to advertise and enforce (defaults: 16 fds, 1 MiB transfers, 65535 maps, 4 KiB pages). */
  readonly limits?: Partial<ServerLimits>;
  /** Reply timeout of our DMA_READ/DMA_WRITE requests in ms (default 5000, QEMU's; 0 = none). */
  readonly timeoutMs?: number;
  /** File mode of the socket (default 0600). */
  readonly mode?: number;
  /** The native layer (default: the addon). */
  readonly native?: Native;
  /** Gets every message sent or received, on each client's socket and twin socket (see TraceEvent). */
  readonly onTrace?: (e: TraceEvent) => void;
  /** Gets each interrupt the device raises and each DMA access through the client's mapped memory (for metrics). */
  readonly onActivity?: (a: ServerActivity) => void;
  /**
   * A client that connects while another is served: 'refuse' (default) answers its first message
   * EBUSY and closes it at once, so it can say the device is in use; 'queue' keeps it waiting,
   * unread, until the current client leaves.
   */
  readonly whenBusy?: WhenBusy;
}

/** Where to serve: `{ socketPath }` (created) or `{ fd }` (an already-listening socket, as `--fd`). */
export type ServeTarget = ListenTarget;

/**
 * Serves `device` on `target` while subscribed: emits `listening`, then `connected` and
 * `disconnected` for each client. Unsubscribing closes the client, the listener and every fd,
 * and removes the socket file. Errors with SocketInUseError when another server has the path.
 */
export const serve = (device: PciDevice, target: ServeTarget, options: ServeOptions = {}): Observable<ServerEvent> =>
  defer(() => {
    const n = options.native ?? defaultNative;
    const io = nativeIo(n);
    const limits = { ...defaultLimits, ...options.limits };
    const path = 'socketPath' in target ? target.socketPath : undefined;
    const listening = new Subject<ServerEvent>();
    // `listening` is reported only once the socket is actually bound.
    const channels$ = new Observable<Channel>((subscriber) => {
      const inner = listen$(n, target, options.mode ?? 0o600).subscribe(subscriber);
      if (!inner.closed) listening.next({ kind: 'listening', path });
      return inner;
    });
    const { onTrace } = options;
    const connections$ = channels$.pipe(
      map((ch) => serverConnection(io, limits, ch)),
      tap((c) => onTrace && c.trace$.subscribe(onTrace)),
    );
    const run = {
      io,
      limits,
      timeoutMs: options.timeoutMs ?? 5000,
      whenBusy: options.whenBusy ?? 'refuse',
      ...(onTrace ? { onTrace } : {}),
      ...(options.onActivity ? { onActivity: options.onActivity } : {}),
    };
    return merge(listening, runDevice(device, connections$, run));
  });

/** Emits (once) when the process receives one of `signals`; the handlers are removed on unsubscribe. */
export const signal$ = (...signals: NodeJS.Signals[]): Observable<NodeJS.Signals> =>
  merge(...signals.map((s) => fromEvent(process, s).pipe(map(() => s)))).pipe(take(1));

/**
 * Serves until SIGTERM or SIGINT, then stops cleanly (client closed, socket file removed) and
 * resolves; rejects if serving fails. The CLI's `serve` command is one line:
 * `await serveUntilSignal(device, { socketPath }, { onEvent: log })`.
 */
export const serveUntilSignal = (
  device: PciDevice,
  target: ServeTarget,
  options: ServeOptions & { readonly onEvent?: (e: ServerEvent) => void } = {},
): Promise<void> =>
  lastValueFrom(
    concat(serve(device, target, options).pipe(tap(options.onEvent), takeUntil(signal$('SIGTERM', 'SIGINT'))), of(undefined)),
  ).then(() => undefined);
