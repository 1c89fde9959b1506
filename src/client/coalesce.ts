import type { SchedulerLike } from 'rxjs';
import { writeHolder } from '../operators/write-multi.js';
import { ClosedError } from '../protocol/errors.js';
import type { Connection } from '../wire/connection.js';

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
 * A connection that coalesces small posted REGION_WRITEs into REGION_WRITE_MULTI while the socket
 * backs up (its queued bytes above the threshold), with the writeMulti operator's state: once one
 * write is held, every later candidate joins it; held writes leave before any other message (the
 * server runs commands in order), when 200 are held, when the scheduler next runs, or at close.
 * Every message goes out in the order it was sent, and synchronously unless it is held.
 */
export const coalescing = (conn: Connection, policy: CoalescePolicy): Connection => {
  const holder = writeHolder(
    {
      shouldHold: () => policy.enabled() && conn.queuedBytes > policy.thresholdBytes,
      ...(policy.scheduler ? { scheduler: policy.scheduler } : {}),
    },
    // Held writes released after the socket closed are lost with it, as posted writes are.
    (out) => {
      if (!conn.closed) conn.send(out);
    },
  );
  return {
    frames$: conn.frames$,
    trace$: conn.trace$,
    send: (m) => {
      if (conn.closed) throw new ClosedError('connection is closed');
      if (!holder.offer(m)) conn.send(m);
    },
    get queuedBytes() {
      return conn.queuedBytes;
    },
    get closed() {
      return conn.closed;
    },
    close: () => {
      holder.release();
      conn.close();
    },
  };
};
