/** MIG_DATA_READ (PRE_COPY, STOP_COPY) and MIG_DATA_WRITE (RESUMING). */
import { map } from 'rxjs';
import { DeviceState as MigState } from '../../protocol/constants.js';
import { Errno } from '../../protocol/errno.js';
import { decodeMigDataReadRequest, decodeMigDataWriteRequest, encodeMigDataReadReply } from '../../protocol/migration-data.js';
import { DeviceError, fail } from '../errors.js';
import { migStateName } from '../migration.js';
import type { CommandHandler } from './types.js';

/**
 * MIG_DATA_READ: up to `size` bytes of the device's stream. In PRE_COPY it answers with what is
 * ready now (fewer bytes, maybe none: "no more for now"); in STOP_COPY it waits until `size` bytes
 * are ready or the stream has ended, so a short reply there means the end of the data. The reply's
 * `size` is what counts: the payload is always 8 + the requested size (see encodeMigDataReadReply).
 */
export const migDataRead: CommandHandler = (rt, state, frame) => {
  const req = decodeMigDataReadRequest(frame.payload, rt.options.limits);
  const m = state.migration;
  if ((m.state !== MigState.PRE_COPY && m.state !== MigState.STOP_COPY) || !m.save) {
    return fail(Errno.EINVAL, `MIG_DATA_READ in ${migStateName(m.state)} (only in PRE_COPY or STOP_COPY)`);
  }
  const save = m.save;
  const answer = () => {
    if (save.error !== undefined && save.available === 0) {
      throw new DeviceError(Errno.EIO, `the device's migration data failed: ${(save.error as Error)?.message ?? String(save.error)}`);
    }
    // Padded to the requested size, as libvfio-user does (its client needs it); `size` tells the bytes.
    return { state, payload: encodeMigDataReadReply({ data: save.take(req.size), padTo: req.size }) };
  };
  if (m.state === MigState.PRE_COPY || save.available >= req.size || save.ended) return answer();
  return save.ready(req.size).pipe(map(answer));
};

/** MIG_DATA_WRITE: the next piece of the stream, kept until RESUMING ends (STOP loads it). */
export const migDataWrite: CommandHandler = (rt, state, frame) => {
  const req = decodeMigDataWriteRequest(frame.payload, rt.options.limits);
  const m = state.migration;
  if (m.state !== MigState.RESUMING) return fail(Errno.EINVAL, `MIG_DATA_WRITE in ${migStateName(m.state)} (only in RESUMING)`);
  return { state: { ...state, migration: { ...m, incoming: [...(m.incoming ?? []), Buffer.from(req.data)] } } };
};
