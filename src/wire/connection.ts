// The global Buffer of an ES module is a getter on globalThis, paid at every use: these run per message.
import { Buffer } from 'node:buffer';
import { Observable, Subject, share } from 'rxjs';
import { HEADER_SIZE } from '../protocol/constants.js';
import { writeHeaderFields } from '../protocol/header.js';
import { ClosedError, DisconnectedError, LimitError } from '../protocol/errors.js';
import { framer } from './decode-frames.js';
import { framePool } from './frame-pool.js';
import type { Channel } from '../native/types.js';
import { describeFd } from '../native/fd-info.js';
import type { FdInfo } from '../protocol/fd-info.js';
import { payloadLength, type Frame, type OutgoingMessage } from '../protocol/frame.js';
import { traceOf, type TraceEvent } from './trace.js';

/** Default bound on an incoming frame: 1 MiB of data plus headroom for the largest fixed part. */
export const DEFAULT_MAX_FRAME_SIZE = (1 << 20) + 4096;

/**
 * A message with at least this many bytes still to come after a read is finished by the socket
 * straight into its own buffer (see DirectRead): below it, joining the reads costs less than the
 * extra buffer and native call.
 */
const DIRECT_READ_THRESHOLD = 32 * 1024;

/**
 * Messages of this many bytes or more are written at once rather than gathered with the messages
 * around them: gathering (a copy) saves them nothing.
 */
export const SEND_AT_ONCE_BYTES = 64 * 1024;

/**
 * Default bound on the bytes sent to a peer and not yet taken by its socket. A peer that stops
 * reading while it keeps sending requests (each answered, say, with 1 MiB of REGION_READ data)
 * would otherwise make us queue without end; past this the connection is closed.
 */
export const DEFAULT_MAX_QUEUED_BYTES = 64 << 20;

/**
 * The buffer small messages are gathered into starts at this size and doubles, as far as
 * GATHER_MAX_BYTES, when a turn gathers more; a turn that gathers more than that is written in
 * several sendmsgs. The channel copies what the socket does not take, so the buffer is reused at
 * once: a gathered message costs a copy into it, not a header Buffer of its own and a join.
 */
const GATHER_MIN_BYTES = 4096;
const GATHER_MAX_BYTES = 256 * 1024;

// The queue is looked at on every large send and on every QUEUE_CHECK_EVERY-th small one (a native
// property read each time); small messages can outgrow the bound by at most that many between looks.
const QUEUE_CHECK_EVERY = 64;

/** A framed vfio-user connection over one socket: frames in, messages out, and a trace. */
export interface Connection {
  /**
   * Incoming frames; starts reading on first subscription. Never completes: EOF, a socket error,
   * corrupt framing and close() all end it with one DisconnectedError (the fault as its cause).
   */
  readonly frames$: Observable<Frame>;
  /**
   * Sends a message (never blocks; queued natively when the socket is full). Throws ClosedError
   * after close. Its payload pieces are not referenced after it returns (a small message is
   * copied where it is gathered), so the sender may reuse them.
   */
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
  /** Most bytes queued for a peer that does not read before the connection is closed (default DEFAULT_MAX_QUEUED_BYTES). */
  readonly maxQueuedBytes?: number;
}

const settled = Promise.resolve();

/** An outgoing payload as one Buffer, for the trace (only built when someone traces). */
const joined = (payload: OutgoingMessage['payload']): Buffer | undefined =>
  payload === undefined || Buffer.isBuffer(payload) ? payload : Buffer.concat(payload);

/** What a message's fds are, for the trace (only looked at when someone traces). */
const described = (fds: readonly number[] | undefined): FdInfo[] | undefined => (fds && fds.length > 0 ? fds.map(describeFd) : undefined);

const asDisconnect = (err: unknown): DisconnectedError =>
  err instanceof DisconnectedError ? err : new DisconnectedError(`connection failed: ${(err as Error).message}`, { cause: err });

/**
 * Wraps a native channel as a Connection. The only place that touches the socket.
 * Small fd-less messages sent while the frames of one read are handled (a server's replies) are
 * gathered and written together, with one sendmsg, once every frame of the read is handled. Outside
 * a read, the first message after each read is written at once (the request that follows a reply
 * waits for nothing) and the small ones after it are gathered and written when the current task's
 * microtasks run, so bursts of posted writes or pipelined requests cost few syscalls. The ping-pong
 * of a synchronous caller never schedules anything.
 */
export const connection = (channel: Channel, options: ConnectionOptions): Connection => {
  const trace = new Subject<TraceEvent>();
  let closed = false;
  // Small messages gathered for one sendmsg, copied one after the other (allocated on first use).
  let gather: Buffer | undefined;
  let gathered = 0;
  // The channel's queued bytes as read during the current gathering: they change only when we send,
  // which a gathering never does until it ends (the socket drains on later turns of the loop), and
  // a coalescing client asks for them with every posted write. -1: not read since it began.
  let channelQueued = -1;
  let batching = false;
  // Reads of the socket so far, and the count when a message last went out at once.
  let reads = 0;
  // Whether the frames of a read are being handled: what they send is gathered until the read ends.
  let reading = false;
  let sentAtRead = -1;
  // The header of a message written at once: the channel is done with it when send() returns.
  const header = Buffer.alloc(HEADER_SIZE);
  const alone = [header];

  const flush = () => {
    batching = false;
    if (gathered === 0 || closed) return;
    const out = gather!.subarray(0, gathered);
    gathered = 0;
    channelQueued = -1;
    channel.send([out]);
    watchQueue(true);
  };

  // Room for `size` more gathered bytes: a larger buffer while it may grow, else what is gathered goes out first.
  const roomFor = (size: number): Buffer => {
    if (gather !== undefined && gathered + size <= gather.length) return gather;
    if (gathered + size <= GATHER_MAX_BYTES) {
      let length = gather?.length ?? GATHER_MIN_BYTES;
      while (length < gathered + size) length *= 2;
      const grown = Buffer.allocUnsafeSlow(Math.min(length, GATHER_MAX_BYTES));
      if (gathered > 0) gather!.copy(grown, 0, 0, gathered);
      return (gather = grown);
    }
    flush();
    return roomFor(size);
  };

  const maxQueued = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
  let sends = 0;
  let overflowing = false;
  // Ends the connection (after the current call, as socket failures are reported) with a LimitError cause.
  const watchQueue = (large: boolean) => {
    if ((!large && ++sends % QUEUE_CHECK_EVERY !== 0) || overflowing || channel.queuedBytes <= maxQueued) return;
    overflowing = true;
    const limit = new LimitError(`the peer has left ${channel.queuedBytes} bytes unread, more than ${maxQueued}: it does not read its socket`);
    queueMicrotask(() => (fail ? fail(new DisconnectedError(`connection closed: ${limit.message}`, { cause: limit })) : shutdown()));
  };

  let fail: ((err: DisconnectedError) => void) | undefined;
  // One subscriber from the socket callback to the consumer: framing and tracing inline (hot path).
  const frames$ = new Observable<Frame>((subscriber) => {
    const direct = {
      threshold: DIRECT_READ_THRESHOLD,
      pool: framePool(),
      // A frame handler may have closed the connection: then nothing more is read anyway.
      readInto: (target: Buffer, offset: number) => closed || channel.readInto(target, offset),
    };
    const maxFrameSize = options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
    const frames = framer({ maxFrameSize, closeFd: options.closeFd, direct }, (frame) => {
      // One read can hold several messages; when handling one of them closed the connection, the
      // rest reach nobody, and their fds are ours to close.
      if (subscriber.closed) {
        frame.fds.forEach(options.closeFd);
        frame.release?.();
        return;
      }
      if (trace.observed) trace.next(traceOf('in', frame.header, frame.fds.length, frame.payload, described(frame.fds)));
      subscriber.next(frame);
    });
    fail = (err) => {
      frames.release();
      if (!subscriber.closed) subscriber.error(err);
      shutdown();
    };
    channel.start({
      data: (bytes, fds, filled) => {
        reads++;
        reading = true;
        try {
          frames.push(bytes, fds, filled);
        } catch (err) {
          fail!(asDisconnect(err));
        } finally {
          reading = false;
        }
        // What the frames of this read answered goes out together, in one sendmsg.
        flush();
      },
      end: () => fail!(new DisconnectedError('connection closed by peer')),
      error: (err) => fail!(asDisconnect(err)),
    });
  }).pipe(share({ resetOnError: false, resetOnComplete: false, resetOnRefCountZero: false }));

  const writeHeader = (h: Buffer, message: OutgoingMessage, size: number) =>
    writeHeaderFields(h, 0, message.id, message.command, size, message.flags, message.error ?? 0);

  const send = (message: OutgoingMessage) => {
    if (closed) throw new ClosedError('connection is closed');
    const { payload, fds } = message;
    const size = HEADER_SIZE + payloadLength(payload);
    if (trace.observed) trace.next(traceOf('out', { ...message, size, error: message.error ?? 0 }, fds?.length ?? 0, joined(payload), described(fds)));
    const withFds = fds !== undefined && fds.length > 0;
    if (!withFds && size < SEND_AT_ONCE_BYTES && (reading || sentAtRead === reads)) {
      // Gathered: copied, header and payload, behind what was gathered before it.
      if (gathered === 0) channelQueued = -1;
      const into = roomFor(size);
      writeHeaderFields(into, gathered, message.id, message.command, size, message.flags, message.error ?? 0);
      let at = gathered + HEADER_SIZE;
      if (payload !== undefined) {
        if (Buffer.isBuffer(payload)) into.set(payload, at);
        else
          for (const piece of payload) {
            into.set(piece, at);
            at += piece.length;
          }
      }
      gathered += size;
      // Sent while a read is handled: flushed when the read's frames are done, with no microtask.
      if (!batching && !reading) {
        batching = true;
        void settled.then(flush);
      }
      return;
    }
    // Written at once, behind anything gathered before it. fds ride on the first byte of their own
    // sendmsg, so such a message never starts a gathering.
    if (!withFds && size < SEND_AT_ONCE_BYTES) sentAtRead = reads;
    flush();
    writeHeader(header, message, size);
    if (payload === undefined) channel.send(alone, fds);
    else channel.send(Buffer.isBuffer(payload) ? [header, payload] : [header, ...payload], fds);
    watchQueue(size >= SEND_AT_ONCE_BYTES);
  };

  const shutdown = () => {
    if (channel.fd < 0) return;
    flush();
    closed = true;
    gathered = 0;
    gather = undefined;
    channel.close();
    trace.complete();
  };

  const close = () => {
    if (closed) return shutdown();
    flush();
    closed = true;
    if (fail) fail(new DisconnectedError('connection closed'));
    else shutdown();
  };

  return {
    frames$,
    send,
    trace$: trace.asObservable(),
    get queuedBytes() {
      if (gathered === 0) return channel.queuedBytes;
      if (channelQueued < 0) channelQueued = channel.queuedBytes;
      return channelQueued + gathered;
    },
    close,
    get closed() {
      return closed;
    },
  };
};
