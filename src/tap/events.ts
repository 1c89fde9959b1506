/** What a tap reports: each message it passed on, decoded, and how each conversation ended. */
import type { FdInfo } from '../protocol/fd-info.js';
import type { Header } from '../protocol/header.js';
import type { PayloadFields } from '../protocol/describe.js';
import type { TraceEvent } from '../wire/trace.js';

/** A side of a tapped conversation. */
export type Side = 'client' | 'server';

/**
 * One message the tap passed on: a TraceEvent seen from the client (`out` from the client, `in`
 * from the server, as the client's own `trace$` has it), with the raw header, the decoded payload,
 * what its fds are (`fdInfo`), which socket (`link`) and when it was forwarded.
 */
export interface TapMessage extends TraceEvent {
  readonly kind: 'message';
  /** Which conversation of the tap (1 for its first client). */
  readonly session: number;
  readonly from: Side;
  readonly link: 'main' | 'twin';
  readonly header: Header;
  /** The payload decoded with the protocol's codecs (see describePayload). */
  readonly fields: PayloadFields;
  /** When the tap had handed it to the other side's socket (traceNow clock; `timestamp` is when it came). */
  readonly forwardedAt: number;
  /** What each fd passed on is (looked at before the tap closed its copies). */
  readonly fdInfo: readonly FdInfo[];
  /** The payload bytes, exactly as they came (the tap changes none). */
  readonly payload: Buffer;
}

/** A conversation ended: both sides are closed. */
export interface TapClosed {
  readonly kind: 'closed';
  readonly session: number;
  /** Who ended it: a side that closed or failed, or the tap itself (stopped, or it could not connect). */
  readonly by: Side | 'tap';
  /** One sentence saying why. */
  readonly reason: string;
  /** The side sent something the tap could not pass on faithfully (a bad header or msg_size). */
  readonly corrupt: boolean;
  readonly timestamp: number;
}

/** A client reached the tap and the tap reached the server. */
export interface TapConnected {
  readonly kind: 'connected';
  readonly session: number;
  readonly timestamp: number;
}

/** What one tapped conversation reports. */
export type TapEvent = TapMessage | TapClosed | TapConnected;
