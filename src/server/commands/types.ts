/** The shape every command handler has. */
import type { Observable } from 'rxjs';
import type { Frame } from '../../protocol/frame.js';
import type { Runtime } from '../runtime.js';
import type { DeviceState, SessionState } from '../state.js';

/** A state with a client attached (every command runs in one). */
export type Attached = DeviceState & { readonly session: SessionState };

/** What a command produced: the new state, the reply payload and fds, and the received fds it keeps. */
export interface Outcome {
  readonly state: DeviceState;
  readonly payload?: Buffer;
  /** fds to send with the reply (still owned by the server). */
  readonly fds?: readonly number[];
  /** Received fds the new state owns; every other received fd is closed. */
  readonly kept?: readonly number[];
  /** Fail the command with this errno while keeping `state` (part of it ran). */
  readonly errno?: number;
}

/** Handles one command; throws (or errors) with an errno-carrying error to fail it. */
export type CommandHandler = (rt: Runtime, state: Attached, frame: Frame) => Outcome | Observable<Outcome>;

/** The state with the session's fields replaced. */
export const withSession = (state: Attached, patch: Partial<SessionState>): Attached => ({
  ...state,
  session: { ...state.session, ...patch },
});
