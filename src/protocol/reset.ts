import { expectEmpty } from './reader.js';

/** Encodes the (empty) DEVICE_RESET request payload. */
export const encodeDeviceResetRequest = (): Buffer => Buffer.alloc(0);
/** Checks that a DEVICE_RESET request has no payload. */
export const decodeDeviceResetRequest = (payload: Buffer): void => expectEmpty('DEVICE_RESET', payload);
/** Encodes the (empty) DEVICE_RESET reply payload. */
export const encodeDeviceResetReply = (): Buffer => Buffer.alloc(0);
/** Checks that a DEVICE_RESET reply has no payload. */
export const decodeDeviceResetReply = (payload: Buffer): void => expectEmpty('DEVICE_RESET', payload);
