import { IrqSetFlags } from './constants.js';
import { expectEmpty, reader } from './reader.js';
import { type ArgszOptional, invalidInput, putU32 } from './writer.js';

/** DEVICE_GET_IRQ_INFO request: argsz and the IRQ type index. */
export interface IrqInfoRequest {
  readonly argsz: number;
  readonly index: number;
}

/** DEVICE_GET_IRQ_INFO reply. */
export interface IrqInfo {
  readonly argsz: number;
  /** EVENTFD, MASKABLE, AUTOMASKED, NORESIZE. */
  readonly flags: number;
  readonly index: number;
  /** Number of vectors of this type; 0 = not supported. */
  readonly count: number;
}

/** DEVICE_SET_IRQS request. */
export interface SetIrqsRequest {
  /** Size of the request payload, data included. */
  readonly argsz: number;
  /** Exactly one DATA_* and one ACTION_* bit. */
  readonly flags: number;
  readonly index: number;
  readonly start: number;
  readonly count: number;
  /** DATA_BOOL only: `count` bytes, one per vector. */
  readonly data?: Buffer;
}

/** Size of the IRQ_INFO struct. */
export const IRQ_INFO_SIZE = 16;
/** Size of the SET_IRQS struct without data. */
export const SET_IRQS_SIZE = 20;
const INFO = 'DEVICE_GET_IRQ_INFO';
const SET = 'DEVICE_SET_IRQS';

const encodeInfo = (argsz: number, flags: number, index: number, count: number): Buffer => {
  const buf = Buffer.alloc(IRQ_INFO_SIZE);
  putU32(buf, 0, argsz, 'argsz');
  putU32(buf, 4, flags, 'flags');
  putU32(buf, 8, index, 'index');
  putU32(buf, 12, count, 'count');
  return buf;
};

/** Encodes a DEVICE_GET_IRQ_INFO request (argsz defaults to 16). */
export const encodeIrqInfoRequest = (x: ArgszOptional<IrqInfoRequest>): Buffer =>
  encodeInfo(x.argsz ?? IRQ_INFO_SIZE, 0, x.index, 0);

/** Decodes a DEVICE_GET_IRQ_INFO request (EINVAL when short or argsz < 16). */
export const decodeIrqInfoRequest = (payload: Buffer): IrqInfoRequest => {
  const r = reader(INFO, payload).need(IRQ_INFO_SIZE);
  const argsz = r.u32(0, 'argsz');
  if (argsz < IRQ_INFO_SIZE) r.fail('argsz', `${argsz} < ${IRQ_INFO_SIZE}`);
  return { argsz, index: r.u32(8, 'index') };
};

/** Encodes a DEVICE_GET_IRQ_INFO reply (argsz defaults to 16). */
export const encodeIrqInfoReply = (x: ArgszOptional<IrqInfo>): Buffer =>
  encodeInfo(x.argsz ?? IRQ_INFO_SIZE, x.flags, x.index, x.count);

/** Decodes a DEVICE_GET_IRQ_INFO reply; with the request, checks the index echo and argsz. */
export const decodeIrqInfoReply = (payload: Buffer, request?: IrqInfoRequest): IrqInfo => {
  const r = reader(INFO, payload).need(IRQ_INFO_SIZE).fits(request?.argsz);
  const argsz = r.u32(0, 'argsz');
  if (argsz < IRQ_INFO_SIZE) r.fail('argsz', `${argsz} < ${IRQ_INFO_SIZE}`);
  const x = { argsz, flags: r.u32(4, 'flags'), index: r.u32(8, 'index'), count: r.u32(12, 'count') };
  r.echo('index', x.index, request?.index);
  return x;
};

const isSingleBit = (v: number): boolean => v !== 0 && (v & (v - 1)) === 0;
const ALL_SET_FLAGS = IrqSetFlags.DATA_TYPE_MASK | IrqSetFlags.ACTION_TYPE_MASK;

/** Why SET_IRQS flags are invalid, or undefined when they hold exactly one DATA and one ACTION bit. */
export const setIrqsFlagsProblem = (flags: number): string | undefined => {
  if ((flags & ~ALL_SET_FLAGS) !== 0) return `unknown bits 0x${(flags & ~ALL_SET_FLAGS).toString(16)}`;
  if (!isSingleBit(flags & IrqSetFlags.DATA_TYPE_MASK)) return 'need exactly one DATA_* bit';
  if (!isSingleBit(flags & IrqSetFlags.ACTION_TYPE_MASK)) return 'need exactly one ACTION_* bit';
  return undefined;
};

/** Encodes a DEVICE_SET_IRQS request; argsz defaults to 20 + data bytes. */
export const encodeSetIrqsRequest = (x: ArgszOptional<SetIrqsRequest>): Buffer => {
  const problem = setIrqsFlagsProblem(x.flags);
  if (problem) invalidInput(SET, 'flags', problem);
  const isBool = (x.flags & IrqSetFlags.DATA_BOOL) !== 0;
  const data = x.data ?? Buffer.alloc(0);
  if (isBool && data.length !== x.count) invalidInput(SET, 'count', `${data.length} BOOL bytes for count ${x.count}`);
  if (!isBool && data.length !== 0) invalidInput(SET, 'data', 'only DATA_BOOL carries data');
  const buf = Buffer.alloc(SET_IRQS_SIZE + data.length);
  putU32(buf, 0, x.argsz ?? SET_IRQS_SIZE + data.length, 'argsz');
  putU32(buf, 4, x.flags, 'flags');
  putU32(buf, 8, x.index, 'index');
  putU32(buf, 12, x.start, 'start');
  putU32(buf, 16, x.count, 'count');
  data.copy(buf, SET_IRQS_SIZE);
  return buf;
};

/**
 * Decodes a DEVICE_SET_IRQS request: exactly one DATA and one ACTION bit, BOOL data of exactly
 * `count` bytes, no data otherwise. Range checks against the device's IRQ counts are the caller's.
 */
export const decodeSetIrqsRequest = (payload: Buffer): SetIrqsRequest => {
  const r = reader(SET, payload).need(SET_IRQS_SIZE);
  const argsz = r.u32(0, 'argsz');
  const flags = r.u32(4, 'flags');
  const problem = setIrqsFlagsProblem(flags);
  if (problem) r.fail('flags', problem);
  const x = { argsz, flags, index: r.u32(8, 'index'), start: r.u32(12, 'start'), count: r.u32(16, 'count') };
  const extra = payload.length - SET_IRQS_SIZE;
  if (argsz < SET_IRQS_SIZE + extra) r.fail('argsz', `${argsz} < payload size ${payload.length}`);
  if ((flags & IrqSetFlags.DATA_BOOL) === 0) {
    if (extra !== 0) r.fail('payload', `${extra} data bytes without DATA_BOOL`);
    return x;
  }
  if (extra !== x.count) r.fail('count', `${extra} BOOL bytes for count ${x.count}`);
  return { ...x, data: r.bytes(SET_IRQS_SIZE, extra, 'data') };
};

/** Encodes the (empty) DEVICE_SET_IRQS reply payload. */
export const encodeSetIrqsReply = (): Buffer => Buffer.alloc(0);
/** Checks that a DEVICE_SET_IRQS reply has no payload. */
export const decodeSetIrqsReply = (payload: Buffer): void => expectEmpty(SET, payload);
