import { Subject, type SchedulerLike } from 'rxjs';
import { writeMulti } from '../../operators/writeMulti.js';
import { ClosedError } from '../../protocol/errors.js';
import type { Connection } from '../../streams/connection.js';
import type { OutgoingMessage } from '../../streams/frame.js';

/** When posted writes are coalesced. */
export interface CoalescePolicy {
  /** Whether the server accepts REGION_WRITE_MULTI (known once VERSION is done). */
  readonly enabled: () => boolean;
  /** Queued bytes above which the socket counts as backed up. */
  readonly thresholdBytes: number;
  readonly scheduler?: SchedulerLike;
}

/**
 * A connection whose outgoing messages pass through writeMulti: while the socket backs up (its
 * queued bytes above the threshold), small posted REGION_WRITEs leave as REGION_WRITE_MULTI. Every
 * message still goes out in the order it was sent, and synchronously unless it is held.
 */
export const coalescing = (conn: Connection, policy: CoalescePolicy): Connection => {
  const outgoing = new Subject<OutgoingMessage>();
  const shouldHold = () => policy.enabled() && conn.queuedBytes > policy.thresholdBytes;
  outgoing.pipe(writeMulti({ shouldHold, ...(policy.scheduler ? { scheduler: policy.scheduler } : {}) })).subscribe((m) => {
    // Held writes released after the socket closed are lost with it, as posted writes are.
    if (!conn.closed) conn.send(m);
  });
  return {
    frames$: conn.frames$,
    trace$: conn.trace$,
    send: (m) => {
      if (conn.closed) throw new ClosedError('connection is closed');
      outgoing.next(m);
    },
    get queuedBytes() {
      return conn.queuedBytes;
    },
    get closed() {
      return conn.closed;
    },
    close: () => {
      outgoing.complete();
      conn.close();
    },
  };
};
