/** Device reset (DEVICE_RESET, FLR) and client detach, with the device's reset hook. */
import { Observable, defer, isObservable, last, map, of } from 'rxjs';
import { resetConfig } from '../pci/index.js';
import { releaseMappings } from './dma-table.js';
import { irqFds } from './irq-table.js';
import { emptyMsixTable } from './msix-table.js';
import type { Runtime } from './runtime.js';
import { runningMigration } from './migration.js';
import { noPending, type DeviceState } from './state.js';
import type { ResetReason } from './types.js';

/**
 * The state after a reset. DEVICE_RESET puts config space back as built (an FLR already did);
 * both clear the MSI-X table and pending bits. A disconnect keeps the device state and drops
 * only what belonged to the client (pending INTx, ERR and REQ).
 */
export const resetState = (rt: Runtime, state: DeviceState, reason: ResetReason): DeviceState => {
  if (reason === 'disconnect') return { ...state, pending: { ...state.pending, intx: 0n, err: 0n, req: 0n } };
  // A reset leaves any migration state (ERROR included) for RUNNING, and drops data in flight.
  state.migration.save?.close();
  return {
    ...state,
    migration: runningMigration,
    config: reason === 'reset' ? resetConfig(state.config) : state.config,
    msixTable: emptyMsixTable(rt.device.irqCounts.msix),
    pending: noPending,
  };
};

/** Resets the state, tells device code (reset$, then the hook), and emits the new state once the hook is done. */
export const resetDevice = (rt: Runtime, state: DeviceState, reason: ResetReason): Observable<DeviceState> =>
  defer(() => {
    const next = resetState(rt, state, reason);
    rt.resets.next(reason);
    const hook = rt.device.reset?.(reason, rt.ctx);
    return (isObservable(hook) ? hook : of(undefined)).pipe(
      last(null, null),
      map(() => next),
    );
  });

/**
 * The client went away: every mapping is unmapped and every interrupt eventfd closed, the
 * device state stays for the next client, and the reset hook hears 'disconnect'.
 */
export const detach = (rt: Runtime, state: DeviceState): Observable<DeviceState> => {
  if (!state.session) return of(state);
  releaseMappings(state.session.mappings);
  for (const fd of irqFds(state.session.irqs)) rt.io.close(fd);
  return resetDevice(rt, { ...state, session: undefined }, 'disconnect');
};
