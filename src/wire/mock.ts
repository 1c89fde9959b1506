import { Observable, Subject, catchError, share, tap, throwError } from 'rxjs';
import { HEADER_SIZE, HeaderFlags, MessageType } from '../protocol/constants.js';
import { ClosedError, DisconnectedError } from '../protocol/errors.js';
import type { Connection } from './connection.js';
import { payloadLength, type Frame, type OutgoingMessage } from '../protocol/frame.js';
import { traceOf, type TraceEvent } from './trace.js';

/** The socket driver's twin: a Connection fed by a frame observable that records what is sent. */
export interface MockConnection extends Connection {
  /** Every message sent, in order. */
  readonly sent: OutgoingMessage[];
  /** Every message sent, as it is sent. */
  readonly sent$: Observable<OutgoingMessage>;
}

/** Creates a mock connection whose incoming frames come from `frames$` (e.g. a marble hot observable). */
export const mockConnection = (frames$: Observable<Frame>): MockConnection => {
  const sent: OutgoingMessage[] = [];
  const sentSubject = new Subject<OutgoingMessage>();
  const trace = new Subject<TraceEvent>();
  const closing = new Subject<never>();
  let closed = false;
  const shared$ = new Observable<Frame>((subscriber) => {
    const inner = frames$.subscribe(subscriber);
    const stop = closing.subscribe(subscriber);
    return () => {
      inner.unsubscribe();
      stop.unsubscribe();
    };
  }).pipe(
    tap({ next: (f) => trace.next(traceOf('in', f.header, f.fds.length)), error: () => (closed = true) }),
    catchError((err: unknown) =>
      throwError(() => (err instanceof DisconnectedError ? err : new DisconnectedError(String(err), { cause: err }))),
    ),
    share({ resetOnError: false, resetOnComplete: false, resetOnRefCountZero: false }),
  );
  return {
    frames$: shared$,
    sent,
    sent$: sentSubject.asObservable(),
    trace$: trace.asObservable(),
    queuedBytes: 0,
    send: (message) => {
      if (closed) throw new ClosedError('connection is closed');
      const size = HEADER_SIZE + payloadLength(message.payload);
      trace.next(traceOf('out', { ...message, size, error: message.error ?? 0 }, message.fds?.length ?? 0));
      sent.push(message);
      sentSubject.next(message);
    },
    close: () => {
      if (closed) return;
      closed = true;
      closing.error(new DisconnectedError('connection closed'));
    },
    get closed() {
      return closed;
    },
  };
};

/** Joins a payload given as one Buffer or many. */
export const joinPayload = (payload: OutgoingMessage['payload']): Buffer =>
  payload === undefined ? Buffer.alloc(0) : Buffer.isBuffer(payload) ? payload : Buffer.concat(payload);

/** Builds a received command frame (for tests and mock peers). */
export const commandFrame = (id: number, command: number, payload: Buffer = Buffer.alloc(0), fds: number[] = [], noReply = false): Frame => ({
  header: {
    id,
    command,
    size: HEADER_SIZE + payload.length,
    flags: MessageType.COMMAND | (noReply ? HeaderFlags.NO_REPLY : 0),
    error: 0,
  },
  payload,
  fds,
});

/** Builds a received reply frame; with `errno` it is a header-only error reply. */
export const replyFrame = (id: number, command: number, payload: Buffer = Buffer.alloc(0), errno?: number, fds: number[] = []): Frame => ({
  header: {
    id,
    command,
    size: HEADER_SIZE + (errno === undefined ? payload.length : 0),
    flags: MessageType.REPLY | (errno === undefined ? 0 : HeaderFlags.ERROR),
    error: errno ?? 0,
  },
  payload: errno === undefined ? payload : Buffer.alloc(0),
  fds,
});

/** Turns a sent message back into the frame the peer would receive (for loopback mocks). */
export const asFrame = (message: OutgoingMessage): Frame => {
  const payload = joinPayload(message.payload);
  return {
    header: { id: message.id, command: message.command, size: HEADER_SIZE + payload.length, flags: message.flags, error: message.error ?? 0 },
    payload,
    fds: [...(message.fds ?? [])],
  };
};
