/** Accesses to config space (region 7), through the PCI emulation. */
import { map } from 'rxjs';
import { readConfig, writeConfig } from '../pci/index.js';
import { reconcile } from './gates.js';
import type { AccessAnswer } from './msix-region.js';
import { resetDevice } from './reset.js';
import type { Runtime } from './runtime.js';
import type { DeviceState } from './state.js';
import type { RegionAccess } from './types.js';

/**
 * Reads config space, or applies a guest write (write masks, RW1C bits, BAR sizing); the write's
 * effects go to device code, masks it changed are reconciled, and an FLR resets the device.
 */
export const configAccess = (rt: Runtime, state: DeviceState, a: RegionAccess): AccessAnswer => {
  if (a.kind === 'read') return { state, data: readConfig(state.config, a.offset, a.count) };
  const { space, effects } = writeConfig(state.config, a.offset, a.data);
  const masks = reconcile(state, { ...state, config: space }, rt.device.irqCounts);
  for (const fd of masks.signals) rt.io.signal(fd);
  for (const e of effects) if (e.kind !== 'flr') rt.configEffects.next(e);
  if (!effects.some((e) => e.kind === 'flr')) return { state: masks.state };
  return resetDevice(rt, masks.state, 'flr').pipe(map((s) => ({ state: s })));
};
