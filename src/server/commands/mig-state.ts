/**
 * SET MIG_DEVICE_STATE: the migration state machine's arcs with the device's hooks, the
 * framework's own state in the data stream, and loading what RESUMING received.
 */
import { Observable, catchError, concatMap, map, of, throwError } from 'rxjs';
import { DeviceState as MigState } from '../../protocol/constants.js';
import { Errno } from '../../protocol/errno.js';
import { decodeMigDeviceStateFeature } from '../../protocol/feature-migration.js';
import { restoreConfig } from '../../pci/index.js';
import { DeviceError, errnoOf, fail } from '../errors.js';
import { RecordTag, SaveStream, deviceChunks, migStateName, migrationPath, parseRecords, record, runHook, type MigrationDeviceState } from '../migration.js';
import type { Runtime } from '../runtime.js';
import type { DeviceState } from '../state.js';
import type { MigrationHooks } from '../types.js';
import type { Attached } from './types.js';

/** The device's migration hooks; EINVAL for a device built without migration. */
export const hooksOf = (rt: Runtime): MigrationHooks => rt.device.migration ?? fail(Errno.EINVAL, 'the device does not support migration');

/** The framework's own state as records: config space, MSI-X table, RAM-backed regions. */
const frameworkRecords = (rt: Runtime, state: DeviceState): Buffer => {
  const parts = [record(RecordTag.CONFIG, state.config.bytes), record(RecordTag.MSIX_TABLE, state.msixTable)];
  for (const [index, backing] of rt.ram) {
    const body = Buffer.allocUnsafe(4 + backing.memory.bytes.length);
    body.writeUInt32LE(index, 0);
    backing.memory.bytes.copy(body, 4);
    parts.push(record(RecordTag.RAM, body));
  }
  return Buffer.concat(parts);
};

/** Starts (or continues) the outgoing stream for a saving phase. */
const startSaving = (rt: Runtime, state: DeviceState, phase: 'pre-copy' | 'stop-copy'): DeviceState => {
  const hooks = hooksOf(rt);
  const save = state.migration.save ?? new SaveStream();
  const frame = hooks.raw ? (c: Buffer) => c : (c: Buffer) => record(RecordTag.DEVICE, c);
  if (phase === 'stop-copy' && !hooks.raw) save.push(frameworkRecords(rt, state));
  save.follow(deviceChunks(hooks, phase, rt.ctx), frame);
  return { ...state, migration: { state: phase === 'pre-copy' ? MigState.PRE_COPY : MigState.STOP_COPY, save } };
};

const endSaving = (state: DeviceState, to: MigrationDeviceState): DeviceState => {
  state.migration.save?.close();
  return { ...state, migration: { state: to } };
};

/** The state after loading what RESUMING received; throws EINVAL (DeviceError) for data it refuses, changing nothing. */
const load = (rt: Runtime, state: DeviceState): Observable<DeviceState> => {
  const hooks = hooksOf(rt);
  const data = Buffer.concat(state.migration.incoming ?? []);
  let next: DeviceState = { ...state, migration: { state: MigState.STOP } };
  let device = data;
  const ram: [Buffer, Buffer][] = [];
  if (!hooks.raw) {
    const devicePieces: Buffer[] = [];
    for (const r of parseRecords(data)) {
      if (r.tag === RecordTag.DEVICE) devicePieces.push(r.body);
      else if (r.tag === RecordTag.CONFIG) {
        const ours = state.config.bytes;
        if (r.body.length !== ours.length) fail(Errno.EINVAL, `migration data: config space of ${r.body.length} bytes, this device has ${ours.length}`);
        // Vendor and device ids (the first dword) name the kind of device: another kind's state is refused.
        if (r.body.readUInt32LE(0) !== ours.readUInt32LE(0)) {
          const ids = (b: Buffer) => `${b.readUInt16LE(0).toString(16).padStart(4, '0')}:${b.readUInt16LE(2).toString(16).padStart(4, '0')}`;
          fail(Errno.EINVAL, `migration data of device ${ids(r.body)}, this is ${ids(ours)}`);
        }
        next = { ...next, config: restoreConfig(next.config, Buffer.from(r.body)) };
      } else if (r.tag === RecordTag.MSIX_TABLE) {
        if (r.body.length !== state.msixTable.length) fail(Errno.EINVAL, `migration data: an MSI-X table of ${r.body.length} bytes, this device has ${state.msixTable.length}`);
        next = { ...next, msixTable: Buffer.from(r.body) };
      } else {
        const index = r.body.length >= 4 ? r.body.readUInt32LE(0) : -1;
        const target = rt.ram.get(index)?.memory.bytes;
        if (!target || target.length !== r.body.length - 4) fail(Errno.EINVAL, `migration data: RAM region ${index} does not match this device`);
        ram.push([r.body.subarray(4), target!]);
      }
    }
    device = Buffer.concat(devicePieces);
  }
  if (device.length > 0 && !hooks.load) fail(Errno.EINVAL, `migration data: ${device.length} bytes of device state, and this device loads none`);
  // Everything checked: RAM contents go in, then the device's own data (its refusal fails the SET).
  for (const [from, to] of ram) from.copy(to);
  return runHook(hooks.load && (() => hooks.load!(device, rt.ctx))).pipe(
    map(() => next),
    catchError((err: unknown) =>
      throwError(() => new DeviceError(Errno.EINVAL, `the device refused its migration data: ${(err as Error)?.message ?? String(err)}`, { cause: err })),
    ),
  );
};

/** One direct arc of the state machine (see migrationPath), with the device's hooks. */
const arc = (rt: Runtime, state: DeviceState, to: MigrationDeviceState): Observable<DeviceState> => {
  const hooks = hooksOf(rt);
  const from = state.migration.state;
  const moved = (s: DeviceState): DeviceState => ({ ...s, migration: { ...s.migration, state: to } });
  switch (`${from}>${to}`) {
    case `${MigState.RUNNING}>${MigState.STOP}`:
      return runHook(hooks.quiesce && (() => hooks.quiesce!(rt.ctx))).pipe(map(() => moved(state)));
    case `${MigState.STOP}>${MigState.RUNNING}`:
      return runHook(hooks.resume && (() => hooks.resume!(rt.ctx))).pipe(map(() => moved(state)));
    case `${MigState.RUNNING}>${MigState.PRE_COPY}`:
      return of(startSaving(rt, state, 'pre-copy'));
    case `${MigState.PRE_COPY}>${MigState.RUNNING}`:
    case `${MigState.STOP_COPY}>${MigState.STOP}`:
      return of(endSaving(state, to));
    case `${MigState.PRE_COPY}>${MigState.STOP_COPY}`:
      return runHook(hooks.quiesce && (() => hooks.quiesce!(rt.ctx))).pipe(map(() => startSaving(rt, state, 'stop-copy')));
    case `${MigState.STOP}>${MigState.STOP_COPY}`:
      return of(startSaving(rt, state, 'stop-copy'));
    case `${MigState.STOP}>${MigState.RESUMING}`:
      return of({ ...state, migration: { state: to, incoming: [] } });
    case `${MigState.RESUMING}>${MigState.STOP}`:
      return load(rt, state);
    default:
      return fail(Errno.EINVAL, `no arc from ${migStateName(from)} to ${migStateName(to)}`);
  }
};

/**
 * SET MIG_DEVICE_STATE: the arcs of the path one after the other, each finished before the next.
 * A target that cannot be reached is EINVAL with the state unchanged. An arc that fails leaves
 * the device where the arcs before it took it, and fails the command with its errno: RESUMING to
 * STOP with data the device refuses stays in RESUMING, the data dropped.
 */
export const setDeviceState = (rt: Runtime, state: Attached, data: Buffer): Observable<DeviceState> => {
  const hooks = hooksOf(rt);
  const { device_state: target } = decodeMigDeviceStateFeature(data);
  const path = migrationPath(state.migration.state, target, hooks.preCopy === true);
  if (!path) fail(Errno.EINVAL, `cannot go from ${migStateName(state.migration.state)} to ${migStateName(target)}`);
  return path!.reduce(
    (acc$: Observable<DeviceState>, to) =>
      acc$.pipe(
        concatMap((s) =>
          arc(rt, s, to as MigrationDeviceState).pipe(
            catchError((err: unknown) => {
              // Refused data is dropped: the client may send it again from the start.
              const kept = s.migration.state === MigState.RESUMING ? { ...s, migration: { state: MigState.RESUMING, incoming: [] } } : s;
              const why = `${migStateName(s.migration.state)} to ${migStateName(to)}: ${(err as Error)?.message ?? String(err)}`;
              return throwError(() => new ArcFailure(errnoOf(err), why, kept, err));
            }),
          ),
        ),
      ),
    of<DeviceState>(state),
  );
};

/** An arc failed: the command fails with `errno`, and the device stays in `state` (where the arcs before it took it). */
export class ArcFailure extends DeviceError {
  constructor(
    errno: number,
    message: string,
    readonly state: DeviceState,
    cause: unknown,
  ) {
    super(errno, message, { cause });
  }
}
