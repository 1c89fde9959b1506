import { RegionFlags } from './constants.js';
import { reader } from './reader.js';
import { decodeRegionCaps, encodeRegionCaps, type RegionCapability, regionCapSize } from './region-caps.js';
import { type ArgszOptional, putU32, putU64 } from './writer.js';

/** DEVICE_GET_REGION_INFO request: argsz (largest reply accepted) and the region index. */
export interface RegionInfoRequest {
  readonly argsz: number;
  readonly index: number;
}

/** DEVICE_GET_REGION_INFO reply, with its capability chain parsed. */
export interface RegionInfo {
  /** Payload size of the full answer; larger than what came when the reply was truncated. */
  readonly argsz: number;
  /** READ, WRITE, MMAP, CAPS. */
  readonly flags: number;
  readonly index: number;
  /** Offset of the first capability from the start of the struct; 0 = none. */
  readonly cap_offset: number;
  readonly size: number;
  /** mmap offset on the region fd, and the base of sparse areas. */
  readonly offset: number;
  readonly caps: readonly RegionCapability[];
  /** True when argsz exceeds the payload: re-query with `argsz` to get the caps (and the fd). */
  readonly truncated: boolean;
}

/** What a server states about a region; argsz, cap_offset and the CAPS flag are computed. */
export interface RegionInfoReplyInput {
  readonly flags: number;
  readonly index: number;
  readonly size: number;
  readonly offset: number;
  readonly caps?: readonly RegionCapability[];
}

/** Size of the fixed vfio_region_info struct. */
export const REGION_INFO_SIZE = 32;
const CMD = 'DEVICE_GET_REGION_INFO';

/** Encodes a DEVICE_GET_REGION_INFO request (argsz defaults to 32; other fields 0). */
export const encodeRegionInfoRequest = (x: ArgszOptional<RegionInfoRequest>): Buffer => {
  const buf = Buffer.alloc(REGION_INFO_SIZE);
  putU32(buf, 0, x.argsz ?? REGION_INFO_SIZE, 'argsz');
  putU32(buf, 8, x.index, 'index');
  return buf;
};

/** Decodes a DEVICE_GET_REGION_INFO request (EINVAL when short or argsz < 32, as libvfio-user). */
export const decodeRegionInfoRequest = (payload: Buffer): RegionInfoRequest => {
  const r = reader(CMD, payload).need(REGION_INFO_SIZE);
  const argsz = r.u32(0, 'argsz');
  if (argsz < REGION_INFO_SIZE) r.fail('argsz', `${argsz} < ${REGION_INFO_SIZE}`);
  return { argsz, index: r.u32(8, 'index') };
};

/**
 * Encodes a DEVICE_GET_REGION_INFO reply. Given the request's argsz, caps that do not fit are
 * left out (argsz still reports the full size, CAPS is clear), as libvfio-user does.
 */
export const encodeRegionInfoReply = (x: RegionInfoReplyInput, requestArgsz?: number): Buffer => {
  const caps = x.caps ?? [];
  const full = REGION_INFO_SIZE + caps.reduce((n, c) => n + regionCapSize(c), 0);
  const withCaps = caps.length > 0 && (requestArgsz === undefined || requestArgsz >= full);
  const chain = withCaps ? encodeRegionCaps(caps, REGION_INFO_SIZE) : Buffer.alloc(0);
  const buf = Buffer.alloc(REGION_INFO_SIZE + chain.length);
  putU32(buf, 0, full, 'argsz');
  putU32(buf, 4, withCaps ? x.flags | RegionFlags.CAPS : x.flags & ~RegionFlags.CAPS, 'flags');
  putU32(buf, 8, x.index, 'index');
  putU32(buf, 12, withCaps ? REGION_INFO_SIZE : 0, 'cap_offset');
  putU64(buf, 16, x.size, 'size');
  putU64(buf, 24, x.offset, 'offset');
  chain.copy(buf, REGION_INFO_SIZE);
  return buf;
};

/**
 * Decodes a DEVICE_GET_REGION_INFO reply and its capability chain. A truncated reply
 * (argsz > payload) comes back with no caps and `truncated: true`.
 */
export const decodeRegionInfoReply = (payload: Buffer, request?: RegionInfoRequest): RegionInfo => {
  const r = reader(CMD, payload).need(REGION_INFO_SIZE).fits(request?.argsz);
  const argsz = r.u32(0, 'argsz');
  if (argsz < REGION_INFO_SIZE) r.fail('argsz', `${argsz} < ${REGION_INFO_SIZE}`);
  const flags = r.u32(4, 'flags');
  const index = r.u32(8, 'index');
  r.echo('index', index, request?.index);
  const cap_offset = r.u32(12, 'cap_offset');
  const truncated = argsz > payload.length;
  const size = r.u64(16, 'size');
  const offset = r.u64(24, 'offset');
  const hasCaps = (flags & RegionFlags.CAPS) !== 0;
  // QEMU's bounds: with CAPS set the chain must start after the fixed struct and within argsz.
  if (hasCaps && (cap_offset < REGION_INFO_SIZE || cap_offset > argsz)) {
    r.fail('cap_offset', `${cap_offset} outside [${REGION_INFO_SIZE}, argsz ${argsz}] with CAPS set`);
  }
  const caps = hasCaps && !truncated ? decodeRegionCaps(r, cap_offset, REGION_INFO_SIZE) : [];
  return { argsz, flags, index, cap_offset, size, offset, caps, truncated };
};
