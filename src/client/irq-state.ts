import type { IrqIndex } from '../protocol/constants.js';
import { PciIrq } from '../protocol/constants.js';

/** The IRQ types of a PCI device, by name. */
export type IrqType = 'intx' | 'msi' | 'msix' | 'err' | 'req';

/** IRQ index of each type. */
export const irqIndex: Readonly<Record<IrqType, IrqIndex>> = {
  intx: PciIrq.INTX,
  msi: PciIrq.MSI,
  msix: PciIrq.MSIX,
  err: PciIrq.ERR,
  req: PciIrq.REQ,
};

const names: readonly IrqType[] = ['intx', 'msi', 'msix', 'err', 'req'];

/** The name of an IRQ index. */
export const irqTypeOf = (index: IrqIndex): IrqType => names[index]!;

/** A change of the set of eventfds given to the server. */
export type IrqEvent =
  | { readonly type: 'set'; readonly index: IrqIndex; readonly fds: readonly number[] }
  | { readonly type: 'clear'; readonly index: IrqIndex }
  | { readonly type: 'clearAll' };

/** The eventfds in force per IRQ index (vector = position), and those the last change released. */
export interface IrqState {
  readonly table: ReadonlyMap<IrqIndex, readonly number[]>;
  /** fds to close once their watchers have stopped. */
  readonly released: readonly number[];
}

/** No eventfds. */
export const emptyIrqState: IrqState = { table: new Map(), released: [] };

/** The fold step of the eventfd set: a new set for an index replaces (and releases) the old one. */
export const reduceIrqs = (s: IrqState, e: IrqEvent): IrqState => {
  if (e.type === 'clearAll') return { table: new Map(), released: [...s.table.values()].flat() };
  const table = new Map(s.table);
  const released = table.get(e.index) ?? [];
  if (e.type === 'set') table.set(e.index, e.fds);
  else table.delete(e.index);
  return { table, released };
};
