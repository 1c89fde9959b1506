/** Accesses to the MSI-X table and PBA, which the server emulates inside their BAR. */
import type { Observable } from 'rxjs';
import { Errno } from '../protocol/errno.js';
import type { RegionOverlay } from './region-entry.js';
import { fail } from './errors.js';
import { reconcile } from './gates.js';
import { readMsixTable, readPba, writeMsixTable } from './msix-table.js';
import type { Runtime } from './runtime.js';
import type { DeviceState } from './state.js';
import type { RegionAccess } from './types.js';

/** An access's outcome: the new state, and the bytes read. */
export interface AccessOutcome {
  readonly state: DeviceState;
  readonly data?: Buffer;
}

/** An access's outcome, plain when it was served synchronously, else an Observable of it. */
export type AccessAnswer = AccessOutcome | Observable<AccessOutcome>;

/**
 * Serves an access that falls in the MSI-X table or PBA. A table write can unmask vectors, so
 * pending ones are delivered; the PBA is read-only (writes are dropped, as QEMU drops them).
 */
export const msixAccess = (rt: Runtime, state: DeviceState, overlay: RegionOverlay, a: RegionAccess): AccessOutcome => {
  const at = a.offset - overlay.offset;
  const count = a.kind === 'read' ? a.count : a.data.length;
  if (at < 0 || at + count > overlay.size) fail(Errno.EINVAL, `access straddles the ${overlay.kind} boundary`);
  if (overlay.kind === 'msix-pba') {
    return a.kind === 'read' ? { state, data: readPba(state.pending.msix, rt.device.irqCounts.msix, at, a.count) } : { state };
  }
  if (a.kind === 'read') return { state, data: readMsixTable(state.msixTable, at, a.count) };
  const next = { ...state, msixTable: writeMsixTable(state.msixTable, at, a.data) };
  const d = reconcile(state, next, rt.device.irqCounts);
  for (const fd of d.signals) rt.io.signal(fd);
  return { state: d.state };
};
