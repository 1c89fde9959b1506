import { asapScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import { isCoalescible } from '../../operators/writeMulti.js';
import { Command, HeaderFlags, MessageType, WRITE_MULTI_MAX } from '../../protocol/constants.js';
import { ClosedError } from '../../protocol/errors.js';
import { REGION_ACCESS_SIZE, decodeRegionWriteRequest } from '../../protocol/region-access.js';
import { encodeWriteMultiRequest, type WriteMultiEntry } from '../../protocol/write-multi.js';
import type { Connection } from '../../streams/connection.js';
import type { OutgoingMessage } from '../../streams/frame.js';

/** When posted writes are coalesced. */
export interface CoalescePolicy {
  /** Whether the server accepts REGION_WRITE_MULTI (known once VERSION is done). */
  readonly enabled: () => boolean;
  /** Queued bytes above which the socket counts as backed up. */
  readonly thresholdBytes: number;
  /** Held writes leave at the latest when it next runs (default asap: the end of the turn). */
  readonly scheduler?: SchedulerLike;
}

/**
 * The entry of a coalescible REGION_WRITE. Its payload is this client's own encoding, a fresh
 * buffer the message hands over: the data stays a view of it, and the struct is read without the
 * checked decoder (about a fifth of a posted write's client CPU), which only a payload in pieces
 * still goes through.
 */
const entryOf = (m: OutgoingMessage): WriteMultiEntry => {
  const p = m.payload;
  if (!Buffer.isBuffer(p)) {
    const w = decodeRegionWriteRequest(Buffer.concat(p ?? []));
    return { offset: w.offset, region: w.region, count: w.count, data: w.data ?? Buffer.alloc(0) };
  }
  const offset = p.readUInt32LE(0) + p.readUInt32LE(4) * 0x1_0000_0000;
  return { offset, region: p.readUInt32LE(8), count: p.length - REGION_ACCESS_SIZE, data: p.subarray(REGION_ACCESS_SIZE) };
};

/**
 * A connection that coalesces small posted REGION_WRITEs into REGION_WRITE_MULTI while the socket
 * backs up (its queued bytes above the threshold), as the writeMulti operator does: once one write
 * is held, every later candidate joins it; held writes leave before any other message (the server
 * runs commands in order), when 200 are held, when the scheduler next runs, or at close. Every
 * message goes out in the order it was sent, and synchronously unless it is held. Done here rather
 * than through the operator because the client knows its writes' layout and need not decode them.
 */
export const coalescing = (conn: Connection, policy: CoalescePolicy): Connection => {
  const scheduler = policy.scheduler ?? asapScheduler;
  let held: OutgoingMessage[] = [];
  let timer: Subscription | undefined;
  const release = () => {
    timer?.unsubscribe();
    timer = undefined;
    if (held.length === 0) return;
    const out: OutgoingMessage =
      held.length === 1
        ? held[0]!
        : {
            // No reply ever comes for it, so the id of its first write serves.
            id: held[0]!.id,
            command: Command.REGION_WRITE_MULTI,
            flags: MessageType.COMMAND | HeaderFlags.NO_REPLY,
            payload: encodeWriteMultiRequest({ entries: held.map(entryOf) }),
          };
    held = [];
    // Held writes released after the socket closed are lost with it, as posted writes are.
    if (!conn.closed) conn.send(out);
  };
  const hold = (m: OutgoingMessage) => {
    held.push(m);
    if (held.length >= WRITE_MULTI_MAX) release();
    else timer ??= scheduler.schedule(release);
  };
  return {
    frames$: conn.frames$,
    trace$: conn.trace$,
    send: (m) => {
      if (conn.closed) throw new ClosedError('connection is closed');
      if (isCoalescible(m) && (held.length > 0 || (policy.enabled() && conn.queuedBytes > policy.thresholdBytes))) return hold(m);
      if (held.length > 0) release();
      conn.send(m);
    },
    get queuedBytes() {
      return conn.queuedBytes;
    },
    get closed() {
      return conn.closed;
    },
    close: () => {
      release();
      conn.close();
    },
  };
};
