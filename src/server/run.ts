/**
 * A device served over a stream of connections, one client at a time: every client's events and
 * the device's interrupts are folded, strictly in order, into one state.
 */
import {
  EMPTY,
  Observable,
  Subject,
  concatMap,
  defer,
  finalize,
  ignoreElements,
  isObservable,
  map,
  merge,
  mergeMap,
  of,
  catchError,
  tap,
  using,
  type OperatorFunction,
} from 'rxjs';
import { foldInOrder } from '../operators/fold-in-order.js';
import type { Connection } from '../wire/connection.js';
import type { Frame } from '../protocol/frame.js';
import { releaseMappings } from './dma-table.js';
import type { PciDevice } from './device.js';
import type { ServerIo } from './io.js';
import { irqFds } from './irq-table.js';
import { createRuntime, type Runtime, type RuntimeOptions } from './runtime.js';
import { serveIfFreed, sessionEvents } from './session.js';
import { step, type DeviceEvent } from './step.js';

/** What a server reports as it runs. */
export type ServerEvent =
  | { readonly kind: 'listening'; readonly path?: string }
  | { readonly kind: 'connected'; readonly twin: boolean; readonly clientMaxMsgFds: number }
  | { readonly kind: 'disconnected'; readonly reason: string }
  /** Device code failed: a region handler's stream (its accesses now fail with EIO) or the behaviour. */
  | { readonly kind: 'device-error'; readonly region?: number; readonly error: unknown };

/** What a server does with a client that connects while another is served. */
export type WhenBusy = 'refuse' | 'queue';

/**
 * One client at a time: a client that comes while another is served is refused with EBUSY, unless
 * the first has gone by the time its first message arrives (see serveIfFreed).
 */
const oneRefusingOthers = (connections$: Observable<Connection>, rt: Runtime): Observable<DeviceEvent> =>
  defer(() => {
    let serving = false;
    const served = (c: Connection, first?: Frame): Observable<DeviceEvent> => {
      serving = true;
      return sessionEvents(c, rt, first).pipe(finalize(() => (serving = false)));
    };
    return connections$.pipe(mergeMap((c) => (serving ? serveIfFreed(c, rt, () => !serving, served) : served(c))));
  });

/** Connections wait their turn; the ones still waiting when the server stops are closed. */
const oneAtATime = (connections$: Observable<Connection>, rt: Runtime): Observable<DeviceEvent> =>
  defer(() => {
    const waiting = new Set<Connection>();
    return connections$.pipe(
      tap((c) => waiting.add(c)),
      concatMap((c) => {
        waiting.delete(c);
        return sessionEvents(c, rt);
      }),
      finalize(() => waiting.forEach((c) => c.close())),
    );
  });

const notice = (e: DeviceEvent): ServerEvent | undefined =>
  e.kind === 'attach'
    ? { kind: 'connected', twin: e.link.twin, clientMaxMsgFds: e.link.client.max_msg_fds }
    : e.kind === 'detach'
      ? { kind: 'disconnected', reason: e.reason }
      : undefined;

/** The device's behaviour, kept alive while the device is served. */
const behaviour$ = (rt: Runtime): Observable<never> =>
  defer(() => {
    const out = rt.device.behaviour?.(rt.ctx);
    if (isObservable(out)) return out.pipe(ignoreElements());
    if (out && typeof out.unsubscribe === 'function') return new Observable<never>(() => () => out.unsubscribe());
    return EMPTY;
  });

/** Releases what the last state still holds when serving stops mid-session. */
const releaseState = (rt: Runtime): void => {
  const session = rt.state.value.session;
  if (!session) return;
  releaseMappings(session.mappings);
  for (const fd of irqFds(session.irqs)) rt.io.close(fd);
};

/** Options of runDevice. */
export interface RunOptions extends RuntimeOptions {
  readonly io: ServerIo;
}

/** The runtime as a `using` resource: stopping releases what the last state holds, then the runtime. */
const startRuntime = (device: PciDevice, options: RunOptions): Runtime => {
  const rt = createRuntime(device, options.io, options);
  const release = () => {
    releaseState(rt);
    rt.unsubscribe();
  };
  return { ...rt, unsubscribe: release };
};

/** The fold over every client's events and the device's interrupts, with the device code alongside. */
const serveRuntime = (rt: Runtime, connections$: Observable<Connection>): Observable<ServerEvent> => {
  const notices = new Subject<ServerEvent>();
  const sessions$ = (rt.options.whenBusy === 'queue' ? oneAtATime : oneRefusingOthers)(connections$, rt).pipe(
    tap((e) => {
      const n = notice(e);
      if (n) notices.next(n);
    }),
  );
  const triggers$ = rt.triggers.pipe(map((t): DeviceEvent => ({ kind: 'trigger', ...t })));
  const fold$ = merge(sessions$, triggers$).pipe(
    foldInOrder(step(rt), rt.state.value),
    // Most commands (every register access to a handler) keep the state object as it was: published
    // only when it changed, so the context's derived streams do not run for each of them.
    tap((s) => s !== rt.state.value && rt.state.next(s)),
    ignoreElements(),
  );
  const failed = (region?: number): OperatorFunction<never, ServerEvent> =>
    catchError((error: unknown) => of<ServerEvent>({ kind: 'device-error', error, ...(region === undefined ? {} : { region }) }));
  const ports$ = [...rt.ports].map(([region, p]) => p.run$.pipe(failed(region)));
  // Handlers and behaviour are subscribed before the fold, so device code is in place before any access.
  return merge(notices, ...ports$, behaviour$(rt).pipe(failed()), fold$);
};

/**
 * Serves `device` to each connection of `connections$` in turn (the next is taken once the
 * current one has ended). Emits ServerEvents; unsubscribing stops everything and releases
 * every fd, mapping and memfd.
 */
export const runDevice = (device: PciDevice, connections$: Observable<Connection>, options: RunOptions): Observable<ServerEvent> =>
  using(
    () => startRuntime(device, options),
    (resource) => serveRuntime(resource as Runtime, connections$),
  );
