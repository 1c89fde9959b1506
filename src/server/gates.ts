/**
 * Interrupt delivery as pure functions of the state: a vector fires through its eventfd unless
 * masked (by the client's SET_IRQS MASK, the MSI-X function mask or vector Mask bit, the MSI
 * per-vector mask, or the command register's INTx Disable); a masked vector is left pending and
 * delivered once every mask is gone.
 */
import { MsiReg, PciCommand, PciConfig, msiState, msixState, pokeConfig, readConfig } from '../pci/index.js';
import { irqTypes } from './irq-table.js';
import { vectorMasked } from './msix-table.js';
import type { DeviceState } from './state.js';
import type { IrqType } from './types.js';

/** A new state and the eventfds to signal for it. */
export interface Delivery {
  readonly state: DeviceState;
  readonly signals: readonly number[];
}

const bit = (n: number): bigint => 1n << BigInt(n);

const deviceMasked = (state: DeviceState, type: IrqType, n: number): boolean => {
  switch (type) {
    case 'msix':
      return (msixState(state.config)?.functionMask ?? false) || vectorMasked(state.msixTable, n);
    case 'msi': {
      const mask = msiState(state.config)?.mask;
      return mask !== undefined && ((mask >>> n) & 1) === 1;
    }
    case 'intx':
      return (readConfig(state.config, PciConfig.COMMAND, 2).readUInt16LE(0) & PciCommand.INTX_DISABLE) !== 0;
    default:
      return false;
  }
};

/** Whether vector `n` of `type` is masked by anything. */
export const isMasked = (state: DeviceState, type: IrqType, n: number): boolean =>
  (state.session?.irqs[type].masked[n] ?? false) || deviceMasked(state, type, n);

/** Sets the pending bits of a type; MSI's are mirrored in its Pending register, where the guest reads them. */
const withPending = (state: DeviceState, type: IrqType, bits: bigint): DeviceState => {
  const next = { ...state, pending: { ...state.pending, [type]: bits } };
  const msi = state.config.layout.msi;
  if (type !== 'msi' || !msi?.maskable) return next;
  const register = Buffer.alloc(4);
  register.writeUInt32LE(Number(bits & 0xffffffffn));
  const at = msi.offset + (msi.is64 ? MsiReg.PENDING_64 : MsiReg.PENDING_32);
  return { ...next, config: pokeConfig(next.config, at, register) };
};

/** Fires vector `n` of `type`: its eventfd when unmasked (an unassigned one drops it), else pending. */
export const deliver = (state: DeviceState, type: IrqType, n: number): Delivery => {
  const pending = state.pending[type];
  if (isMasked(state, type, n)) return { state: (pending & bit(n)) !== 0n ? state : withPending(state, type, pending | bit(n)), signals: [] };
  const fd = state.session?.irqs[type].trigger[n];
  const next = (pending & bit(n)) !== 0n ? withPending(state, type, pending & ~bit(n)) : state;
  return { state: next, signals: fd === undefined ? [] : [fd] };
};

/**
 * After anything that can change a mask: signals the mask/unmask eventfds of vectors whose
 * masking changed, and delivers pending vectors that are now unmasked.
 */
export const reconcile = (before: DeviceState, after: DeviceState, counts: Readonly<Record<IrqType, number>>): Delivery => {
  let state = after;
  const signals: number[] = [];
  for (const type of irqTypes) {
    for (let n = 0; n < counts[type]; n++) {
      const now = isMasked(state, type, n);
      if (isMasked(before, type, n) !== now) {
        const fd = state.session?.irqs[type][now ? 'mask' : 'unmask'][n];
        if (fd !== undefined) signals.push(fd);
      }
      if (now || (state.pending[type] & bit(n)) === 0n) continue;
      const d = deliver(state, type, n);
      state = d.state;
      signals.push(...d.signals);
    }
  }
  return { state, signals };
};
