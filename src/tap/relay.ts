/**
 * The tap's kernel: two connections cross-wired so that every frame from one side is sent to the
 * other unchanged, header fields, payload and fds, in one sendmsg as every peer writes a message.
 * A plain function per frame on long-lived subscriptions (no Observable per message); the events
 * it reports are the edge (relay$ in tap.ts).
 */
import type { Unsubscribable } from 'rxjs';
import { Command, HeaderFlags, MessageType } from '../protocol/constants.js';
import { DisconnectedError, LimitError, ProtocolError } from '../protocol/errors.js';
import type { FdInfo } from '../protocol/fd-info.js';
import type { Frame } from '../protocol/frame.js';
import { describeFd } from '../native/fd-info.js';
import { native as defaultNative } from '../native/index.js';
import type { Channel, Native } from '../native/types.js';
import { SEND_AT_ONCE_BYTES, connection, type Connection } from '../wire/connection.js';
import { traceNow } from '../wire/trace.js';
import type { Side, TapClosed, TapMessage } from './events.js';
import { Message } from './message.js';

/**
 * Largest message a tap passes on: QEMU accepts a max_data_xfer_size of up to 64 MiB, and the tap
 * must not refuse what the two sides agreed; past it the size field is taken as corrupt.
 */
export const TAP_MAX_FRAME_SIZE = (64 << 20) + 4096;

/** Options of a relay. */
export interface RelayOptions {
  /** Largest msg_size passed on (default TAP_MAX_FRAME_SIZE); a larger one is a corrupt frame. */
  readonly maxFrameSize?: number;
  /** Whether to report each message (fds described, payload decoded); default true. */
  readonly messages?: boolean;
  /** The conversation's number in its events (default 1). */
  readonly session?: number;
  /** The native layer (default: the addon). */
  readonly native?: Native;
}

/** The tap could not set up its relay of the twin socket (no fds left, for one). */
export class TwinSocketError extends Error {
  readonly code = 'ERR_VFIO_USER_TAP_TWIN';
}

/** Where a relay reports. */
export interface RelaySink {
  message(e: TapMessage): void;
  /** Called once, when both sides are closed. */
  closed(e: TapClosed): void;
}

const other = (side: Side): Side => (side === 'client' ? 'server' : 'client');

/** Why a side's stream ended, in one sentence, and whether it was corrupt framing. */
const endOf = (side: Side, link: 'main' | 'twin', err: unknown): { reason: string; corrupt: boolean } => {
  const where = link === 'twin' ? `the ${side} on the twin socket` : `the ${side}`;
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof ProtocolError) {
    return { corrupt: true, reason: `${where} sent a corrupt frame (${cause.message}): the tap cannot pass it on faithfully, so it closed both sides` };
  }
  if (cause instanceof LimitError) return { corrupt: false, reason: `${where} stopped reading (${cause.message}); the tap closed both sides` };
  const message = err instanceof DisconnectedError && err.message === 'connection closed by peer' ? 'closed the connection' : `failed: ${(err as Error).message}`;
  return { corrupt: false, reason: `${where} ${message}; the tap closed the ${other(side)}` };
};

const isVersionReply = (f: Frame): boolean =>
  f.header.command === Command.VERSION && (f.header.flags & HeaderFlags.TYPE_MASK) === MessageType.REPLY;

/**
 * Relays between a client's channel and a server's until one side closes, fails or sends a corrupt
 * frame; then closes both (and the twin socket) and reports `closed`. A socket passed in the
 * server's VERSION reply (the twin socket) is relayed too: the client gets the end of a socket
 * pair of the tap's instead. Unsubscribing stops it (reported as ended by the tap).
 */
export const relay = (client: Channel, server: Channel, options: RelayOptions, sink: RelaySink): Unsubscribable => {
  const n = options.native ?? defaultNative;
  const maxFrameSize = options.maxFrameSize ?? TAP_MAX_FRAME_SIZE;
  const reporting = options.messages ?? true;
  const session = options.session ?? 1;
  const connections: Connection[] = [];
  const subscriptions: Unsubscribable[] = [];
  let ended = false;

  const end = (by: Side | 'tap', reason: string, corrupt: boolean) => {
    if (ended) return;
    ended = true;
    for (const c of connections) c.close();
    for (const s of subscriptions) s.unsubscribe();
    sink.closed({ kind: 'closed', session, by, reason, corrupt, timestamp: traceNow() });
  };

  // The twin socket: a pair of ours stands between the client and the server's end. Every fd of
  // the reply ends in `toClose` or with a channel, even when making the pair fails (EMFILE).
  const twinned = (fds: readonly number[], toClose: number[]): number[] => {
    let failure: unknown;
    const out = fds.map((fd) => {
      if (failure !== undefined || describeFd(fd).kind !== 'socket') return toClose.push(fd), fd;
      let pair: [number, number] | undefined;
      try {
        pair = n.socketpair();
        const mine = n.channelFromFd(pair[0]);
        pair = [-1, pair[1]];
        let server: Channel;
        try {
          server = n.channelFromFd(fd);
        } catch (err) {
          mine.close();
          throw err;
        }
        link(mine, server, 'twin');
      } catch (err) {
        failure = err;
        if (pair && pair[0] >= 0) n.close(pair[0]);
        if (pair) n.close(pair[1]);
        return toClose.push(fd), fd;
      }
      toClose.push(pair[1]);
      return pair[1];
    });
    if (failure !== undefined) {
      for (const fd of toClose) n.close(fd);
      throw new TwinSocketError(`cannot relay the twin socket: ${(failure as Error).message}`, { cause: failure });
    }
    return out;
  };

  const report = (f: Frame, from: Side, on: 'main' | 'twin', fdInfo: readonly FdInfo[], timestamp: number) =>
    sink.message(new Message(session, from, on, f.header, f.payload, fdInfo, timestamp));

  const forward = (f: Frame, to: Connection, from: Side, on: 'main' | 'twin') => {
    const timestamp = reporting ? traceNow() : 0;
    const toClose: number[] = [];
    let fds = f.fds;
    if (from === 'server' && f.fds.length > 0 && isVersionReply(f)) {
      try {
        fds = twinned(f.fds, toClose);
      } catch (err) {
        return end('tap', `${(err as Error).message}: the tap cannot pass the VERSION reply on faithfully, so it closed both sides`, false);
      }
    }
    // Looked at before they are closed: the numbers mean nothing once they are.
    const fdInfo = reporting && fds.length > 0 ? fds.map(describeFd) : [];
    const h = f.header;
    try {
      if (!to.closed) to.send({ id: h.id, command: h.command, flags: h.flags, error: h.error, payload: f.payload, fds });
    } finally {
      // The receiving kernel has its own copies now; ours are closed (the twin's end stays with its relay).
      for (const fd of fds === f.fds ? fds : toClose) n.close(fd);
    }
    if (reporting) report(f, from, on, fdInfo, timestamp);
    // Written at once (never gathered), so its pooled buffer can go back.
    if (h.size >= SEND_AT_ONCE_BYTES) f.release?.();
  };

  const pipe = (from: Connection, to: Connection, side: Side, on: 'main' | 'twin') =>
    from.frames$.subscribe({
      next: (f) => forward(f, to, side, on),
      error: (err: unknown) => {
        const { reason, corrupt } = endOf(side, on, err);
        end(side, reason, corrupt);
      },
    });

  const link = (clientChannel: Channel, serverChannel: Channel, on: 'main' | 'twin') => {
    const c = connection(clientChannel, { closeFd: n.close, maxFrameSize });
    const s = connection(serverChannel, { closeFd: n.close, maxFrameSize });
    connections.push(c, s);
    if (ended) return void (c.close(), s.close());
    subscriptions.push(pipe(c, s, 'client', on), pipe(s, c, 'server', on));
  };

  link(client, server, 'main');
  return { unsubscribe: () => end('tap', 'the tap was stopped', false) };
};
