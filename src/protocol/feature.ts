import { DeviceFeature } from './constants.js';
import { reader } from './reader.js';
import { type ArgszOptional, putU32 } from './writer.js';

/** DEVICE_FEATURE request or reply: argsz, flags (feature index | GET/SET/PROBE), feature data. */
export interface DeviceFeaturePayload {
  /** Request: largest reply accepted. Reply (GET): 8 + data length. */
  readonly argsz: number;
  readonly flags: number;
  /** Feature data (a view of the payload); decode it with the per-feature codecs. */
  readonly data: Buffer;
}

/** Size of the DEVICE_FEATURE struct before the data. */
export const DEVICE_FEATURE_SIZE = 8;
const CMD = 'DEVICE_FEATURE';
const OPS = DeviceFeature.GET | DeviceFeature.SET | DeviceFeature.PROBE;

/** The feature index in a DEVICE_FEATURE flags word. */
export const featureIndex = (flags: number): number => flags & DeviceFeature.MASK;

/** Why DEVICE_FEATURE flags are invalid (no operation, unknown bits, GET with SET without PROBE). */
export const featureFlagsProblem = (flags: number): string | undefined => {
  const ops = flags & ~DeviceFeature.MASK;
  if ((ops & ~OPS) !== 0) return `unknown bits 0x${(ops & ~OPS).toString(16)}`;
  if (ops === 0) return 'no operation (GET, SET or PROBE)';
  if (ops === (DeviceFeature.GET | DeviceFeature.SET)) return 'GET and SET exclude each other without PROBE';
  return undefined;
};

const encode = (x: ArgszOptional<DeviceFeaturePayload>): Buffer => {
  const buf = Buffer.alloc(DEVICE_FEATURE_SIZE + x.data.length);
  putU32(buf, 0, x.argsz ?? DEVICE_FEATURE_SIZE + x.data.length, 'argsz');
  putU32(buf, 4, x.flags >>> 0, 'flags');
  x.data.copy(buf, DEVICE_FEATURE_SIZE);
  return buf;
};

/** Encodes a DEVICE_FEATURE request; argsz defaults to 8 + data length (callers of GET pass a larger one). */
export const encodeDeviceFeatureRequest = (x: ArgszOptional<DeviceFeaturePayload>): Buffer => encode(x);

/** Decodes a DEVICE_FEATURE request, checking the operation bits as libvfio-user does. */
export const decodeDeviceFeatureRequest = (payload: Buffer): DeviceFeaturePayload => {
  const r = reader(CMD, payload).need(DEVICE_FEATURE_SIZE);
  const argsz = r.u32(0, 'argsz');
  const flags = r.u32(4, 'flags');
  const problem = featureFlagsProblem(flags);
  if (problem) r.fail('flags', problem);
  if (argsz < DEVICE_FEATURE_SIZE) r.fail('argsz', `${argsz} < ${DEVICE_FEATURE_SIZE}`);
  return { argsz, flags, data: r.bytes(DEVICE_FEATURE_SIZE, payload.length - DEVICE_FEATURE_SIZE, 'data') };
};

/** Encodes a DEVICE_FEATURE reply; argsz defaults to 8 + data length. */
export const encodeDeviceFeatureReply = (x: ArgszOptional<DeviceFeaturePayload>): Buffer => encode(x);

/** Decodes a DEVICE_FEATURE reply; with the request, flags must echo it and the reply fit its argsz. */
export const decodeDeviceFeatureReply = (payload: Buffer, request?: DeviceFeaturePayload): DeviceFeaturePayload => {
  const r = reader(CMD, payload).need(DEVICE_FEATURE_SIZE).fits(request?.argsz);
  const argsz = r.u32(0, 'argsz');
  const flags = r.u32(4, 'flags');
  r.echo('flags', flags, request?.flags);
  return { argsz, flags, data: r.bytes(DEVICE_FEATURE_SIZE, payload.length - DEVICE_FEATURE_SIZE, 'data') };
};
