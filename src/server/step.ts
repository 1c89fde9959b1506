/** One step of the device fold: an event and the state before it give the state after it. */
import { Observable, catchError, isObservable, map, of, take, throwIfEmpty } from 'rxjs';
import { commandName } from '../protocol/constants.js';
import { Errno } from '../protocol/errno.js';
import type { FoldStep } from '../operators/fold-in-order.js';
import type { Frame } from '../protocol/frame.js';
import type { Endpoint } from '../wire/endpoint.js';
import { route, type Route } from './commands/route.js';
import type { Attached, Outcome } from './commands/types.js';
import { DeviceError, errnoOf, fail } from './errors.js';
import { deliver } from './gates.js';
import { commandAllowed, migStateName } from './migration.js';
import { detach, resetState } from './reset.js';
import type { Runtime } from './runtime.js';
import { newSession, type DeviceState, type SessionLink } from './state.js';
import type { IrqType } from './types.js';

/** What the fold consumes: a client's arrival, its commands in order, its departure, and interrupts. */
export type DeviceEvent =
  | { readonly kind: 'attach'; readonly link: SessionLink }
  | { readonly kind: 'command'; readonly frame: Frame }
  | { readonly kind: 'detach'; readonly reason: string }
  | { readonly kind: 'trigger'; readonly type: IrqType; readonly vector: number };

/** Replies (or fails, keeping a partial state) and closes the received fds the state does not keep. */
const finish = (rt: Runtime, ep: Endpoint, frame: Frame, out: Outcome): DeviceState => {
  if (frame.fds.length > 0) {
    const kept = new Set(out.kept ?? []);
    for (const fd of frame.fds) if (!kept.has(fd)) rt.io.close(fd);
  }
  if (out.errno !== undefined) ep.replyError(frame, out.errno);
  else ep.reply(frame, out.payload, out.fds);
  return out.state;
};

/** A failed command: its fds are closed and it gets an error reply; the state stays as it was. */
const refused = (rt: Runtime, ep: Endpoint, frame: Frame, state: DeviceState, err: unknown): DeviceState => {
  for (const fd of frame.fds) rt.io.close(fd);
  ep.replyError(frame, errnoOf(err));
  return state;
};

/**
 * Runs one command to completion: its reply (or header-only error reply; none with No_reply)
 * is sent before the next command starts, so a later reply proves earlier posted writes ran.
 * A handler that answers synchronously is finished in place, with no stream built for it.
 */
const runCommand = (rt: Runtime, routes: (command: number) => Route, state: DeviceState, frame: Frame): DeviceState | Observable<DeviceState> => {
  if (!state.session) {
    for (const fd of frame.fds) rt.io.close(fd);
    return state;
  }
  const ep = state.session.link.endpoint;
  const { handler, maxFds } = routes(frame.header.command);
  let out: Outcome | Observable<Outcome>;
  try {
    if (frame.fds.length > maxFds) fail(Errno.EINVAL, `${commandName(frame.header.command)} with ${frame.fds.length} fds`);
    if (!commandAllowed(state.migration.state, frame.header.command)) {
      fail(Errno.EINVAL, `${commandName(frame.header.command)} while the device is in ${migStateName(state.migration.state)}`);
    }
    out = handler(rt, state as Attached, frame);
    if (!isObservable(out)) return finish(rt, ep, frame, out);
  } catch (err: unknown) {
    return refused(rt, ep, frame, state, err);
  }
  return out.pipe(
    take(1),
    throwIfEmpty(() => new DeviceError(Errno.EIO, `${commandName(frame.header.command)} produced no outcome`)),
    map((o) => finish(rt, ep, frame, o)),
    catchError((err: unknown) => of(refused(rt, ep, frame, state, err))),
  );
};

/** Routes by command number, each route built once (the table is bounded by the 16-bit command field). */
const routeCache = (maxMsgFds: number): ((command: number) => Route) => {
  const routes = new Map<number, Route>();
  return (command) => {
    let r = routes.get(command);
    if (r === undefined) {
      r = route(command, maxMsgFds);
      routes.set(command, r);
    }
    return r;
  };
};

const trigger = (rt: Runtime, state: DeviceState, type: IrqType, vector: number): DeviceState => {
  const d = deliver(state, type, vector);
  for (const fd of d.signals) rt.io.signal(fd);
  return d.state;
};

/** The state after one event, plain when it was reached synchronously. */
const next = (rt: Runtime, routes: (command: number) => Route, state: DeviceState, event: DeviceEvent): DeviceState | Observable<DeviceState> => {
  // A switch rather than a ts-pattern match: this runs for every command, and a match costs microseconds.
  switch (event.kind) {
    case 'command':
      return runCommand(rt, routes, state, event.frame);
    case 'attach':
      return { ...state, session: newSession(rt.device, event.link) };
    case 'detach':
      return detach(rt, state).pipe(catchError(() => of(resetState(rt, { ...state, session: undefined }, 'disconnect'))));
    case 'trigger':
      return trigger(rt, state, event.type, event.vector);
    default:
      return unknownEvent(event);
  }
};

const unknownEvent = (event: never): never => {
  throw new TypeError(`unknown device event ${JSON.stringify(event)}`);
};

/**
 * The fold's step function for `rt` (see foldInOrder): the next state, plain when it was reached
 * synchronously. It never errors: a failing step keeps the state it started from.
 */
export const step = (rt: Runtime): FoldStep<DeviceEvent, DeviceState> => {
  const routes = routeCache(rt.options.limits.maxMsgFds);
  return (state, event) => {
    try {
      const out = next(rt, routes, state, event);
      return isObservable(out) ? out.pipe(catchError(() => of(state))) : out;
    } catch {
      return state;
    }
  };
};
