import { reader } from './reader.js';
import { type ArgszOptional, putU32 } from './writer.js';

/** DEVICE_GET_INFO request: only argsz is meaningful. */
export interface DeviceInfoRequest {
  readonly argsz: number;
}

/** DEVICE_GET_INFO reply. */
export interface DeviceInfo {
  readonly argsz: number;
  /** RESET and PCI. */
  readonly flags: number;
  readonly num_regions: number;
  /** Number of IRQ types (5 for PCI). */
  readonly num_irqs: number;
}

/** Size of the DEVICE_GET_INFO struct. */
export const DEVICE_INFO_SIZE = 16;
const CMD = 'DEVICE_GET_INFO';

const encodeInfo = (argsz: number, flags: number, num_regions: number, num_irqs: number): Buffer => {
  const buf = Buffer.alloc(DEVICE_INFO_SIZE);
  putU32(buf, 0, argsz, 'argsz');
  putU32(buf, 4, flags, 'flags');
  putU32(buf, 8, num_regions, 'num_regions');
  putU32(buf, 12, num_irqs, 'num_irqs');
  return buf;
};

/** Encodes a DEVICE_GET_INFO request (argsz defaults to 16, other fields 0). */
export const encodeDeviceInfoRequest = (x: ArgszOptional<DeviceInfoRequest> = {}): Buffer =>
  encodeInfo(x.argsz ?? DEVICE_INFO_SIZE, 0, 0, 0);

/** Decodes a DEVICE_GET_INFO request (libvfio-user: EINVAL when argsz < 16). */
export const decodeDeviceInfoRequest = (payload: Buffer): DeviceInfoRequest => {
  const r = reader(CMD, payload).need(DEVICE_INFO_SIZE);
  const argsz = r.u32(0, 'argsz');
  if (argsz < DEVICE_INFO_SIZE) r.fail('argsz', `${argsz} < ${DEVICE_INFO_SIZE}`);
  return { argsz };
};

/** Encodes a DEVICE_GET_INFO reply (argsz defaults to 16). */
export const encodeDeviceInfoReply = (x: ArgszOptional<DeviceInfo>): Buffer =>
  encodeInfo(x.argsz ?? DEVICE_INFO_SIZE, x.flags, x.num_regions, x.num_irqs);

/** Decodes a DEVICE_GET_INFO reply; with the request, checks it fits the requested argsz. */
export const decodeDeviceInfoReply = (payload: Buffer, request?: DeviceInfoRequest): DeviceInfo => {
  const r = reader(CMD, payload).need(DEVICE_INFO_SIZE).fits(request?.argsz);
  const argsz = r.u32(0, 'argsz');
  if (argsz < DEVICE_INFO_SIZE) r.fail('argsz', `${argsz} < ${DEVICE_INFO_SIZE}`);
  return { argsz, flags: r.u32(4, 'flags'), num_regions: r.u32(8, 'num_regions'), num_irqs: r.u32(12, 'num_irqs') };
};
