/** VERSION negotiation: the client's proposal checked, and our compact answer. */
import {
  CapabilityDefaults,
  Command,
  VFIO_USER_MAJOR,
  VFIO_USER_MINOR,
} from '../../protocol/constants.js';
import { capabilitiesJson, parseCapabilities, type CapabilitiesInput, type NegotiatedCapabilities } from '../../protocol/capabilities.js';
import { Errno } from '../../protocol/errno.js';
import { decodeVersionRequest, encodeVersionReply } from '../../protocol/version.js';
import type { Frame } from '../../protocol/frame.js';
import { fail } from '../errors.js';
import type { ServerLimits } from '../state.js';

/** A client's VERSION proposal, checked. */
export interface Proposal {
  readonly major: number;
  readonly minor: number;
  readonly client: NegotiatedCapabilities;
  /** Payload length of the request: our reply may not be longer (QEMU sizes its buffer so). */
  readonly room: number;
}

/**
 * Checks the first message: it must be VERSION, without fds, of our major, with well-formed
 * capabilities JSON. Every failure is EINVAL (the caller then closes the connection).
 */
export const decodeProposal = (frame: Frame): Proposal => {
  if (frame.header.command !== Command.VERSION) fail(Errno.EINVAL, `the first command must be VERSION, not ${frame.header.command}`);
  if (frame.fds.length > 0) fail(Errno.EINVAL, `VERSION came with ${frame.fds.length} fds`);
  const v = decodeVersionRequest(frame.payload);
  if (v.major !== VFIO_USER_MAJOR) fail(Errno.EINVAL, `major version ${v.major} is not ${VFIO_USER_MAJOR}`);
  return { major: v.major, minor: v.minor, client: parseCapabilities(v.json), room: frame.payload.length };
};

/** Whether to offer a twin socket: the client proposed it and can receive its fd. */
export const wantsTwin = (p: Proposal): boolean => p.client.twin_socket.supported && p.client.max_msg_fds > 0;

type Key = keyof CapabilitiesInput;

// The reply is a subset of what the client proposed: write_multiple and the twin socket only when it did.
const fullCaps = (limits: ServerLimits, p: Proposal, twin: boolean): CapabilitiesInput => ({
  max_msg_fds: limits.maxMsgFds,
  max_data_xfer_size: limits.maxDataXferSize,
  max_dma_maps: limits.maxDmaMaps,
  pgsizes: limits.pgsizes,
  ...(p.client.write_multiple ? { write_multiple: true } : {}),
  ...(twin ? { twin_socket: { supported: true, fd_index: 0 } } : {}),
});

/** Keys in the order they are dropped when the reply must shrink: those equal to the spec's defaults first. */
const dropOrder = (caps: CapabilitiesInput): Key[] => {
  const defaults: Key[] = (['max_data_xfer_size', 'max_dma_maps', 'pgsizes'] as const).filter((k) => caps[k] === CapabilityDefaults[k]);
  const rest: Key[] = ['write_multiple', 'max_dma_maps', 'pgsizes', 'max_data_xfer_size', 'twin_socket', 'max_msg_fds'];
  return [...defaults, ...rest.filter((k) => !defaults.includes(k))];
};

const without = (caps: CapabilitiesInput, keys: readonly Key[]): CapabilitiesInput =>
  Object.fromEntries(Object.entries(caps).filter(([k]) => !keys.includes(k as Key)));

/**
 * Our VERSION reply: minor = min(theirs, ours), our capabilities, write_multiple when the client
 * proposed it, and the twin socket at fd index 0 when offered. It is kept no longer than the request: keys are
 * dropped (defaults first) until it fits, down to no JSON at all.
 */
export const versionReply = (p: Proposal, limits: ServerLimits, twin: boolean): { payload: Buffer; twin: boolean } => {
  const minor = Math.min(p.minor, VFIO_USER_MINOR);
  const caps = fullCaps(limits, p, twin);
  const order = dropOrder(caps);
  for (let dropped = 0; dropped <= order.length; dropped++) {
    const kept = without(caps, order.slice(0, dropped));
    const payload = encodeVersionReply({ major: VFIO_USER_MAJOR, minor, json: capabilitiesJson(kept) });
    if (payload.length <= p.room) return { payload, twin: kept.twin_socket !== undefined };
  }
  return { payload: encodeVersionReply({ major: VFIO_USER_MAJOR, minor }), twin: false };
};
