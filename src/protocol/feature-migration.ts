import { DeviceState } from './constants.js';
import { reader } from './reader.js';
import { putU32, putU64 } from './writer.js';

/** Data of feature MIGRATION (GET reply): the migration capabilities. */
export interface MigrationFeature {
  /** STOP_COPY (required), P2P, PRE_COPY. */
  readonly flags: number;
}

/** Data of feature MIG_DEVICE_STATE (GET reply, SET request). */
export interface MigDeviceStateFeature {
  readonly device_state: number;
  /** Unused in vfio-user (MIG_DATA_* carry the data); sent as 0. */
  readonly data_fd: number;
}

const CMD = 'DEVICE_FEATURE';
const MAX_STATE = Math.max(...Object.values(DeviceState));

/** Encodes the MIGRATION feature data (flags u64). */
export const encodeMigrationFeature = (x: MigrationFeature): Buffer => {
  const buf = Buffer.alloc(8);
  putU64(buf, 0, x.flags, 'flags');
  return buf;
};

/** Decodes the MIGRATION feature data. */
export const decodeMigrationFeature = (data: Buffer): MigrationFeature => {
  const r = reader(CMD, data).need(8);
  return { flags: r.u64(0, 'flags') };
};

/** Encodes the MIG_DEVICE_STATE feature data (data_fd defaults to 0). */
export const encodeMigDeviceStateFeature = (x: { device_state: number; data_fd?: number }): Buffer => {
  const buf = Buffer.alloc(8);
  putU32(buf, 0, x.device_state, 'device_state');
  putU32(buf, 4, x.data_fd ?? 0, 'data_fd');
  return buf;
};

/** Decodes the MIG_DEVICE_STATE feature data, rejecting states the spec does not define. */
export const decodeMigDeviceStateFeature = (data: Buffer): MigDeviceStateFeature => {
  const r = reader(CMD, data).need(8);
  const device_state = r.u32(0, 'device_state');
  if (device_state > MAX_STATE) r.fail('device_state', `unknown state ${device_state}`);
  return { device_state, data_fd: r.u32(4, 'data_fd') };
};
