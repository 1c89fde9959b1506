import { Observable, Subject, catchError, share, tap, throwError, type Subscriber } from 'rxjs';
import { HEADER_SIZE } from '../protocol/constants.js';
import { ClosedError, DisconnectedError } from '../protocol/errors.js';
import { writeHeader } from '../protocol/header.js';
import { decodeFrames } from '../operators/decodeFrames.js';
import type { Channel } from '../native/types.js';
import { payloadLength, type Chunk, type Frame, type OutgoingMessage } from './frame.js';
import { traceOf, type TraceEvent } from './trace.js';

/** Default bound on an incoming frame: 1 MiB of data plus headroom for the largest fixed part. */
export const DEFAULT_MAX_FRAME_SIZE = (1 << 20) + 4096;

/** A framed vfio-user connection over one socket: frames in, messages out, and a trace. */
export interface Connection {
  /**
   * Incoming frames; starts reading on first subscription. Never completes: EOF, a socket error,
   * corrupt framing and close() all end it with one DisconnectedError (the fault as its cause).
   */
  readonly frames$: Observable<Frame>;
  /** Sends a message (never blocks; queued natively when the socket is full). Throws ClosedError after close. */
  send(message: OutgoingMessage): void;
  /** Every message sent or received; costs nothing while nobody subscribes. */
  readonly trace$: Observable<TraceEvent>;
  /** Bytes accepted by send() and not yet written to the socket. */
  readonly queuedBytes: number;
  /** Closes the socket and every fd the connection holds. Idempotent. */
  close(): void;
  /** Whether close() has been called or the stream has ended. */
  readonly closed: boolean;
}

/** Options of a connection. */
export interface ConnectionOptions {
  /** Largest incoming msg_size accepted (default DEFAULT_MAX_FRAME_SIZE). */
  readonly maxFrameSize?: number;
  /** Closes fds the framer cannot hand on. */
  readonly closeFd: (fd: number) => void;
}

/**
 * Wraps a native channel as a Connection. The only place that touches the socket.
 * Messages sent without fds in one turn of the event loop are written with one sendmsg
 * (a microtask flushes them), so bursts of posted writes cost few syscalls.
 */
export const connection = (channel: Channel, options: ConnectionOptions): Connection => {
  const trace = new Subject<TraceEvent>();
  let closed = false;
  let batch: Buffer[] = [];
  let flushQueued = false;

  const flush = () => {
    flushQueued = false;
    if (batch.length === 0 || closed) return;
    // One sendmsg for the whole batch; a long batch is joined to stay far below IOV_MAX.
    const out = batch.length > 64 ? [Buffer.concat(batch)] : batch;
    batch = [];
    channel.send(out);
  };

  let reader: Subscriber<Chunk> | undefined;
  const chunks$ = new Observable<Chunk>((subscriber) => {
    reader = subscriber;
    channel.start({
      data: (bytes, fds) => subscriber.next({ bytes, fds }),
      end: () => subscriber.error(new DisconnectedError('connection closed by peer')),
      error: (err) => subscriber.error(new DisconnectedError(`connection failed: ${err.message}`, { cause: err })),
    });
  });

  // Every end of the stream is one DisconnectedError, so every waiter sees the same cause.
  const frames$ = chunks$.pipe(
    decodeFrames({ maxFrameSize: options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE, closeFd: options.closeFd }),
    tap({
      next: (frame) => {
        if (trace.observed) trace.next(traceOf('in', frame.header, frame.fds.length));
      },
      error: () => shutdown(),
    }),
    catchError((err: unknown) =>
      throwError(() =>
        err instanceof DisconnectedError ? err : new DisconnectedError(`connection failed: ${(err as Error).message}`, { cause: err }),
      ),
    ),
    share({ resetOnError: false, resetOnComplete: false, resetOnRefCountZero: false }),
  );

  const send = (message: OutgoingMessage) => {
    if (closed) throw new ClosedError('connection is closed');
    const size = HEADER_SIZE + payloadLength(message.payload);
    const header = Buffer.allocUnsafe(HEADER_SIZE);
    const fields = { id: message.id, command: message.command, size, flags: message.flags, error: message.error ?? 0 };
    writeHeader(fields, header);
    const pieces = message.payload === undefined ? [] : Buffer.isBuffer(message.payload) ? [message.payload] : message.payload;
    if (trace.observed) trace.next(traceOf('out', fields, message.fds?.length ?? 0));
    if (message.fds && message.fds.length > 0) {
      // fds ride on the first byte of their own sendmsg: never coalesce them with other messages.
      flush();
      channel.send([header, ...pieces], message.fds);
      return;
    }
    batch.push(header, ...pieces);
    if (!flushQueued) {
      flushQueued = true;
      queueMicrotask(flush);
    }
  };

  const shutdown = () => {
    if (channel.fd < 0) return;
    flush();
    closed = true;
    batch = [];
    channel.close();
    trace.complete();
  };

  const close = () => {
    if (closed) return shutdown();
    flush();
    closed = true;
    reader?.error(new DisconnectedError('connection closed'));
    shutdown();
  };

  return {
    frames$,
    send,
    trace$: trace.asObservable(),
    get queuedBytes() {
      return channel.queuedBytes + batch.reduce((n, b) => n + b.length, 0);
    },
    close,
    get closed() {
      return closed;
    },
  };
};
