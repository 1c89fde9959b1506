import { IoFdType } from './constants.js';
import { type PayloadReader, reader } from './reader.js';
import { invalidInput, putU32, putU64 } from './writer.js';

/** DEVICE_GET_REGION_IO_FDS request. */
export interface IoFdsRequest {
  /** Largest reply payload accepted. */
  readonly argsz: number;
  /** Must be 0. */
  readonly flags: number;
  readonly index: number;
  /** Must be 0. */
  readonly count: number;
}

interface IoFdEntryBase {
  /** Offset within the region. */
  readonly offset: number;
  /** Access size; 0 = any. */
  readonly size: number;
  /** Index into the fds sent with the reply. */
  readonly fd_index: number;
  readonly flags: number;
}

/** An ioeventfd entry (type 0), or libvfio-user's shadow variant (type 2, 48-byte layout only). */
export interface IoeventfdEntry extends IoFdEntryBase {
  readonly type: 0 | 2;
  readonly datamatch: number;
  /** 48-byte layout only. */
  readonly shadow_mem_fd_index?: number;
  /** 48-byte layout only. */
  readonly shadow_offset?: number;
}

/** An ioregionfd entry (type 1). */
export interface IoregionfdEntry extends IoFdEntryBase {
  readonly type: 1;
  readonly user_data: number;
}

/** One sub-region entry of the IO_FDS reply. */
export type IoFdEntry = IoeventfdEntry | IoregionfdEntry;

/** Entry size: 40 (spec) or 48 (libvfio-user). */
export type IoFdStride = 40 | 48;

/** DEVICE_GET_REGION_IO_FDS reply. */
export interface IoFdsReply {
  /** Payload size of the full answer. */
  readonly argsz: number;
  readonly flags: number;
  readonly index: number;
  /** Number of sub-regions the region has (also when the entries did not fit). */
  readonly count: number;
  readonly entries: readonly IoFdEntry[];
  /** True when only the 16-byte header came because argsz was too small. */
  readonly truncated: boolean;
}

/** Size of the IO_FDS request struct and of the reply header. */
export const IO_FDS_HEADER_SIZE = 16;
const CMD = 'DEVICE_GET_REGION_IO_FDS';

/** Encodes an IO_FDS request (argsz defaults to 16, flags and count to 0). */
export const encodeIoFdsRequest = (x: { argsz?: number; index: number; flags?: number; count?: number }): Buffer => {
  const buf = Buffer.alloc(IO_FDS_HEADER_SIZE);
  putU32(buf, 0, x.argsz ?? IO_FDS_HEADER_SIZE, 'argsz');
  putU32(buf, 4, x.flags ?? 0, 'flags');
  putU32(buf, 8, x.index, 'index');
  putU32(buf, 12, x.count ?? 0, 'count');
  return buf;
};

/** Decodes an IO_FDS request with libvfio-user's checks (flags = count = 0, argsz >= 16, argsz <= maxArgsz). */
export const decodeIoFdsRequest = (payload: Buffer, limits: { maxArgsz?: number } = {}): IoFdsRequest => {
  const r = reader(CMD, payload).need(IO_FDS_HEADER_SIZE);
  const x = { argsz: r.u32(0, 'argsz'), flags: r.u32(4, 'flags'), index: r.u32(8, 'index'), count: r.u32(12, 'count') };
  if (x.flags !== 0) r.fail('flags', `must be 0, got 0x${x.flags.toString(16)}`);
  if (x.count !== 0) r.fail('count', `must be 0, got ${x.count}`);
  if (x.argsz < IO_FDS_HEADER_SIZE) r.fail('argsz', `${x.argsz} < ${IO_FDS_HEADER_SIZE}`);
  if (limits.maxArgsz !== undefined && x.argsz > limits.maxArgsz) r.fail('argsz', `${x.argsz} > ${limits.maxArgsz}`);
  return x;
};

const writeEntry = (buf: Buffer, at: number, e: IoFdEntry, stride: IoFdStride): void => {
  putU64(buf, at, e.offset, 'offset');
  putU64(buf, at + 8, e.size, 'size');
  putU32(buf, at + 16, e.fd_index, 'fd_index');
  putU32(buf, at + 20, e.type, 'type');
  putU32(buf, at + 24, e.flags, 'flags');
  if (e.type === IoFdType.IOREGIONFD) return putU64(buf, at + 32, e.user_data, 'user_data');
  if (stride === 40) {
    if (e.type === IoFdType.IOEVENTFD_SHADOW) invalidInput(CMD, 'type', 'IOEVENTFD_SHADOW needs the 48-byte layout');
    return putU64(buf, at + 32, e.datamatch, 'datamatch');
  }
  putU32(buf, at + 28, e.shadow_mem_fd_index ?? 0, 'shadow_mem_fd_index');
  putU64(buf, at + 32, e.shadow_offset ?? 0, 'shadow_offset');
  putU64(buf, at + 40, e.datamatch, 'datamatch');
};

/**
 * Encodes an IO_FDS reply (40-byte entries unless `stride` 48 is asked). Given the request's
 * argsz, entries that do not fit are left out and only count and the full argsz are sent.
 */
export const encodeIoFdsReply = (
  x: { index: number; entries: readonly IoFdEntry[]; flags?: number },
  options: { stride?: IoFdStride; requestArgsz?: number } = {},
): Buffer => {
  const stride = options.stride ?? 40;
  const argsz = IO_FDS_HEADER_SIZE + stride * x.entries.length;
  const fits = options.requestArgsz === undefined || options.requestArgsz >= argsz;
  const buf = Buffer.alloc(fits ? argsz : IO_FDS_HEADER_SIZE);
  putU32(buf, 0, argsz, 'argsz');
  putU32(buf, 4, x.flags ?? 0, 'flags');
  putU32(buf, 8, x.index, 'index');
  putU32(buf, 12, x.entries.length, 'count');
  if (fits) x.entries.forEach((e, i) => writeEntry(buf, IO_FDS_HEADER_SIZE + stride * i, e, stride));
  return buf;
};

const readEntry = (r: PayloadReader, at: number, stride: IoFdStride): IoFdEntry => {
  const base = { offset: r.u64(at, 'offset'), size: r.u64(at + 8, 'size'), fd_index: r.u32(at + 16, 'fd_index') };
  const type = r.u32(at + 20, 'type');
  const flags = r.u32(at + 24, 'flags');
  if (type === IoFdType.IOREGIONFD) return { ...base, type: 1, flags, user_data: r.u64(at + 32, 'user_data') };
  if (type === IoFdType.IOEVENTFD && stride === 40) return { ...base, type: 0, flags, datamatch: r.u64(at + 32, 'datamatch') };
  if (type !== IoFdType.IOEVENTFD && (type !== IoFdType.IOEVENTFD_SHADOW || stride === 40)) {
    r.fail('type', `unknown entry type ${type} for ${stride}-byte entries`);
  }
  return {
    ...base, type: type === IoFdType.IOEVENTFD ? 0 : 2, flags,
    shadow_mem_fd_index: r.u32(at + 28, 'shadow_mem_fd_index'),
    shadow_offset: r.u64(at + 32, 'shadow_offset'),
    datamatch: r.u64(at + 40, 'datamatch'),
  };
};

/**
 * Decodes an IO_FDS reply; the entry layout follows from stride = (argsz - 16) / count.
 * With `fdCount` (fds received), every fd_index must name one of them.
 */
export const decodeIoFdsReply = (
  payload: Buffer,
  context: { request?: IoFdsRequest; fdCount?: number } = {},
): IoFdsReply => {
  const r = reader(CMD, payload).need(IO_FDS_HEADER_SIZE).fits(context.request?.argsz);
  const argsz = r.u32(0, 'argsz');
  const flags = r.u32(4, 'flags');
  const index = r.u32(8, 'index');
  const count = r.u32(12, 'count');
  r.echo('index', index, context.request?.index);
  if (argsz < IO_FDS_HEADER_SIZE) r.fail('argsz', `${argsz} < ${IO_FDS_HEADER_SIZE}`);
  if (count === 0 || (argsz > payload.length && payload.length === IO_FDS_HEADER_SIZE)) {
    return { argsz, flags, index, count, entries: [], truncated: count !== 0 };
  }
  const ratio = (argsz - IO_FDS_HEADER_SIZE) / count;
  if (ratio !== 40 && ratio !== 48) r.fail('argsz', `entry stride (argsz - 16) / count = ${ratio}, expected 40 or 48`);
  const stride: IoFdStride = ratio === 40 ? 40 : 48;
  r.need(argsz);
  const entries = Array.from({ length: count }, (_, i) => readEntry(r, IO_FDS_HEADER_SIZE + stride * i, stride));
  const { fdCount } = context;
  if (fdCount !== undefined) {
    const indexes = entries.flatMap((e) => (e.type === 2 ? [e.fd_index, e.shadow_mem_fd_index ?? 0] : [e.fd_index]));
    const bad = indexes.find((i) => i >= fdCount);
    if (bad !== undefined) r.fail('fd_index', `${bad} but ${fdCount} fds came with the reply`);
  }
  return { argsz, flags, index, count, entries, truncated: false };
};
