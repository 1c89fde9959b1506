/** One step of the device fold: an event and the state before it give the state after it. */
import { Observable, catchError, defer, isObservable, map, of, take, throwIfEmpty } from 'rxjs';
import { match } from 'ts-pattern';
import { commandName } from '../../protocol/constants.js';
import { Errno } from '../../protocol/errno.js';
import type { Frame } from '../../streams/frame.js';
import type { Endpoint } from '../endpoint.js';
import { route } from './commands/route.js';
import type { Attached, Outcome } from './commands/types.js';
import { DeviceError, errnoOf, fail } from './errors.js';
import { deliver } from './gates.js';
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
  const kept = new Set(out.kept ?? []);
  for (const fd of frame.fds) if (!kept.has(fd)) rt.io.close(fd);
  if (out.errno !== undefined) ep.replyError(frame, out.errno);
  else ep.reply(frame, out.payload, out.fds);
  return out.state;
};

/**
 * Runs one command to completion: its reply (or header-only error reply; none with No_reply)
 * is sent before the next command starts, so a later reply proves earlier posted writes ran.
 */
const runCommand = (rt: Runtime, state: DeviceState, frame: Frame): Observable<DeviceState> => {
  if (!state.session) {
    for (const fd of frame.fds) rt.io.close(fd);
    return of(state);
  }
  const ep = state.session.link.endpoint;
  const { handler, maxFds } = route(frame.header.command, rt.options.limits.maxMsgFds);
  return defer(() => {
    if (frame.fds.length > maxFds) fail(Errno.EINVAL, `${commandName(frame.header.command)} with ${frame.fds.length} fds`);
    const out = handler(rt, state as Attached, frame);
    return isObservable(out) ? out : of(out);
  }).pipe(
    take(1),
    throwIfEmpty(() => new DeviceError(Errno.EIO, `${commandName(frame.header.command)} produced no outcome`)),
    map((out) => finish(rt, ep, frame, out)),
    catchError((err: unknown) => {
      for (const fd of frame.fds) rt.io.close(fd);
      ep.replyError(frame, errnoOf(err));
      return of(state);
    }),
  );
};

const trigger = (rt: Runtime, state: DeviceState, type: IrqType, vector: number): DeviceState => {
  const d = deliver(state, type, vector);
  for (const fd of d.signals) rt.io.signal(fd);
  return d.state;
};

/** The fold's step function for `rt`; it never errors (a failing step keeps the state it started from). */
export const step =
  (rt: Runtime) =>
  (state: DeviceState, event: DeviceEvent): Observable<DeviceState> =>
    match(event)
      .with({ kind: 'attach' }, (e) => of({ ...state, session: newSession(rt.device, e.link) }))
      .with({ kind: 'command' }, (e) => runCommand(rt, state, e.frame))
      .with({ kind: 'detach' }, () =>
        detach(rt, state).pipe(catchError(() => of(resetState(rt, { ...state, session: undefined }, 'disconnect')))),
      )
      .with({ kind: 'trigger' }, (e) => defer(() => of(trigger(rt, state, e.type, e.vector))))
      .exhaustive()
      .pipe(catchError(() => of(state)));
