/** DEVICE_RESET. */
import { map } from 'rxjs';
import { decodeDeviceResetRequest } from '../../protocol/reset.js';
import { resetDevice } from '../reset.js';
import type { CommandHandler } from './types.js';

/** DEVICE_RESET: no payload; the reply waits for the device's reset hook. */
export const deviceReset: CommandHandler = (rt, state, frame) => {
  decodeDeviceResetRequest(frame.payload);
  return resetDevice(rt, state, 'reset').pipe(map((s) => ({ state: s })));
};
