import { catchError, map, throwError, type Observable } from 'rxjs';
import { capabilitiesJson, parseCapabilities, type CapabilitiesInput, type NegotiatedCapabilities } from '../protocol/capabilities.js';
import { Command, VFIO_USER_MAJOR, VFIO_USER_MINOR } from '../protocol/constants.js';
import {
  ConnectError,
  DisconnectedError,
  MalformedMessageError,
  RemoteError,
  ReplyTimeoutError,
  VersionError,
} from '../protocol/errors.js';
import { Errno } from '../protocol/errno.js';
import { decodeVersionReply, encodeVersionRequest } from '../protocol/version.js';
import type { Frame } from '../protocol/frame.js';
import type { Wire } from './call.js';

/** The outcome of VERSION: the server's version and limits, and the twin socket if it enabled one. */
export interface Negotiated {
  readonly major: number;
  readonly minor: number;
  /** The server's capabilities, defaults filled in. */
  readonly caps: NegotiatedCapabilities;
  /** Our end of the twin socket (owned by the caller), when the server enabled it. */
  readonly twinFd: number | undefined;
}

/** What we propose. */
export interface Proposal {
  readonly caps: CapabilitiesInput;
  /** For error messages. */
  readonly peer: string;
}

// A pgsizes value with a bit below 4 KiB means pages the host cannot map (QEMU refuses it too).
const checkLimits = (caps: NegotiatedCapabilities): void => {
  if (caps.pgsizes === 0 || (caps.pgsizes & 0xfff) !== 0) {
    throw new VersionError(`server pgsizes 0x${caps.pgsizes.toString(16)} is not a set of pages of 4 KiB or more`);
  }
  if (caps.max_data_xfer_size < 1) throw new VersionError('server max_data_xfer_size is 0: no transfer is possible');
};

const twinFdOf = (caps: NegotiatedCapabilities, fds: readonly number[], offered: boolean): number | undefined => {
  const twin = caps.twin_socket;
  if (!twin.supported) return undefined;
  if (!offered) throw new VersionError('server enabled twin_socket, which we did not offer');
  const i = twin.fd_index;
  if (i === undefined || !Number.isInteger(i) || i < 0 || i >= fds.length) {
    throw new VersionError(`twin_socket fd_index ${i} names none of the ${fds.length} fds received`);
  }
  return fds[i];
};

const accept = (frame: Frame, proposal: Proposal, wire: Wire): Negotiated => {
  let kept: number | undefined;
  try {
    const reply = decodeVersionReply(frame.payload);
    if (reply.major !== VFIO_USER_MAJOR) throw new VersionError(`server speaks major ${reply.major}, we speak ${VFIO_USER_MAJOR}`);
    if (reply.minor > VFIO_USER_MINOR) throw new VersionError(`server answered minor ${reply.minor}, above our ${VFIO_USER_MINOR}`);
    const caps = parseCapabilities(reply.json);
    checkLimits(caps);
    kept = twinFdOf(caps, frame.fds, proposal.caps.twin_socket?.supported === true);
    return { major: reply.major, minor: reply.minor, caps, twinFd: kept };
  } catch (err) {
    throw err instanceof MalformedMessageError ? new VersionError(`bad VERSION reply: ${err.message}`, { cause: err }) : err;
  } finally {
    frame.fds.filter((fd) => fd !== kept).forEach(wire.closeFd);
  }
};

// Failing before any valid reply means the peer is not a vfio-user server (or not one that likes us).
const explain = (err: unknown, peer: string): Error => {
  if (err instanceof RemoteError && err.errno === Errno.EBUSY) {
    return new ConnectError(`${peer}: the device is in use by another client (EBUSY)`, { errno: 'EBUSY' }, { cause: err });
  }
  if (err instanceof RemoteError) return new VersionError(`${peer} refused our VERSION: ${err.errnoName}`, { cause: err });
  if (err instanceof DisconnectedError) {
    return new ConnectError(`${peer} is not a vfio-user server: ${err.message} during VERSION`, { errno: 'EPROTO' }, { cause: err });
  }
  if (err instanceof ReplyTimeoutError) {
    return new ConnectError(`${peer} did not answer VERSION within ${err.timeoutMs} ms`, { errno: 'ETIMEDOUT' }, { cause: err });
  }
  return err as Error;
};

/**
 * Negotiates the version: sends 0.<our minor> with our limits and checks the answer as the spec
 * asks (same major, minor not above ours, valid NUL-terminated JSON, twin socket consistent).
 * Received fds other than the twin socket are closed.
 */
export const negotiate$ = (wire: Wire, proposal: Proposal): Observable<Negotiated> => {
  const payload = encodeVersionRequest({ major: VFIO_USER_MAJOR, minor: VFIO_USER_MINOR, json: capabilitiesJson(proposal.caps) });
  return wire.endpoint.request(Command.VERSION, payload).pipe(
    catchError((err: unknown) => throwError(() => explain(err, proposal.peer))),
    map((frame) => accept(frame, proposal, wire)),
  );
};
