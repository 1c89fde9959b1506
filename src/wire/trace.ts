import { HeaderFlags, MessageType, commandName } from '../protocol/constants.js';
import type { FdInfo } from '../protocol/fd-info.js';
import type { Header } from '../protocol/header.js';

/** One message sent or received, decoded for monitoring (fields as in QEMU's trace events). */
export interface TraceEvent {
  readonly direction: 'in' | 'out';
  readonly id: number;
  readonly command: number;
  readonly commandName: string;
  readonly type: 'command' | 'reply';
  /** Total message size, header included. */
  readonly size: number;
  readonly flags: number;
  readonly noReply: boolean;
  /** errno of an error reply, else 0. */
  readonly errno: number;
  readonly fdCount: number;
  /** Milliseconds since the epoch, fractional. */
  readonly timestamp: number;
  /** The message's payload, to decode fields from; read it during the callback (it may be a view of a buffer reused later). */
  readonly payload?: Buffer;
  /** What each fd is, when the tracer looked (the tap does, and captures keep it). */
  readonly fdInfo?: readonly FdInfo[];
  /** The socket it went over when a twin socket is in use ('main' when absent). */
  readonly link?: 'main' | 'twin';
}

const origin = Date.now() - performance.now();

/**
 * The clock of trace timestamps (ms since the epoch, monotonic: wall time at load plus
 * performance.now()). Anything printed among trace lines takes its time from here, or the lines
 * can read out of order (Date.now() and this clock drift apart).
 */
export const traceNow = (): number => origin + performance.now();

/** Builds the trace record of a header. */
export const traceOf = (direction: 'in' | 'out', header: Header, fdCount: number, payload?: Buffer, fdInfo?: readonly FdInfo[]): TraceEvent => ({
  direction,
  id: header.id,
  command: header.command,
  commandName: commandName(header.command),
  type: (header.flags & HeaderFlags.TYPE_MASK) === MessageType.REPLY ? 'reply' : 'command',
  size: header.size,
  flags: header.flags,
  noReply: (header.flags & HeaderFlags.NO_REPLY) !== 0,
  errno: (header.flags & HeaderFlags.ERROR) !== 0 ? header.error : 0,
  fdCount,
  timestamp: traceNow(),
  ...(payload ? { payload } : {}),
  ...(fdInfo && fdInfo.length > 0 ? { fdInfo } : {}),
});

/** One line for a trace event, in hex like QEMU's trace output. */
export const formatTrace = (e: TraceEvent): string => {
  const time = new Date(e.timestamp).toISOString().slice(11, 23);
  const arrow = e.direction === 'in' ? '<-' : '->';
  const extra = [
    e.noReply ? 'no_reply' : '',
    e.errno ? `errno=${e.errno}` : '',
    e.fdCount ? `fds=${e.fdCount}` : '',
    e.link === 'twin' ? 'link=twin' : '',
  ].filter(Boolean);
  return `${time} ${arrow} ${e.type.padEnd(7)} id=0x${e.id.toString(16).padStart(4, '0')} ${e.commandName} size=0x${e.size.toString(16)} flags=0x${e.flags.toString(16)}${extra.length ? ' ' + extra.join(' ') : ''}`;
};
