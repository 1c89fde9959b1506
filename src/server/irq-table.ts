/**
 * The client's interrupt setup as pure functions over an immutable table, one entry per IRQ type
 * (unlike libvfio-user's single table shared by INTx, MSI and MSI-X): the server folds
 * DEVICE_SET_IRQS into it. Closing replaced eventfds is the caller's effect.
 */
import { IrqSetFlags, PciIrq } from '../protocol/constants.js';
import { Errno } from '../protocol/errno.js';
import type { SetIrqsRequest } from '../protocol/irq.js';
import { fail } from './errors.js';
import type { IrqType } from './types.js';

/** The eventfds and client mask bits of one IRQ type, indexed by vector. */
export interface IrqVectors {
  /** Signalled when the vector fires. */
  readonly trigger: readonly (number | undefined)[];
  /** Signalled when the vector becomes masked. */
  readonly mask: readonly (number | undefined)[];
  /** Signalled when the vector becomes unmasked. */
  readonly unmask: readonly (number | undefined)[];
  /** Masked by the client with SET_IRQS MASK (NONE/BOOL). */
  readonly masked: readonly boolean[];
}

/** Every IRQ type's vectors. */
export type IrqTable = Readonly<Record<IrqType, IrqVectors>>;

/** IRQ types in VFIO index order. */
export const irqTypes: readonly IrqType[] = ['intx', 'msi', 'msix', 'err', 'req'];

/** The IRQ type of a VFIO IRQ index (undefined beyond REQ). */
export const irqTypeOf = (index: number): IrqType | undefined => irqTypes[index];

const vectors = (count: number): IrqVectors => ({
  trigger: Array<undefined>(count).fill(undefined),
  mask: Array<undefined>(count).fill(undefined),
  unmask: Array<undefined>(count).fill(undefined),
  masked: Array<boolean>(count).fill(false),
});

/** A table with nothing assigned and nothing masked. */
export const emptyIrqTable = (counts: Readonly<Record<IrqType, number>>): IrqTable => ({
  intx: vectors(counts.intx),
  msi: vectors(counts.msi),
  msix: vectors(counts.msix),
  err: vectors(counts.err),
  req: vectors(counts.req),
});

/** Every eventfd the table holds (to close them on disconnect). */
export const irqFds = (table: IrqTable): number[] =>
  irqTypes.flatMap((t) => [...table[t].trigger, ...table[t].mask, ...table[t].unmask]).filter((fd) => fd !== undefined);

/** The outcome of one SET_IRQS: the new table, fds it released, vectors to fire now. */
export interface SetIrqsOutcome {
  readonly table: IrqTable;
  readonly type: IrqType;
  /** Eventfds replaced or de-assigned (the caller closes them). */
  readonly released: readonly number[];
  /** Vectors the client triggered with DATA_NONE/BOOL. */
  readonly fire: readonly number[];
}

/** Checks a SET_IRQS request as libvfio-user does (every failure is EINVAL) and returns its type. */
const validate = (req: SetIrqsRequest, counts: Readonly<Record<IrqType, number>>, fdCount: number): IrqType => {
  const type = irqTypeOf(req.index);
  if (type === undefined) return fail(Errno.EINVAL, `SET_IRQS index ${req.index} >= ${PciIrq.NUM_IRQS}`);
  const data = req.flags & IrqSetFlags.DATA_TYPE_MASK;
  const action = req.flags & IrqSetFlags.ACTION_TYPE_MASK;
  if (fdCount > 0 && data !== IrqSetFlags.DATA_EVENTFD) fail(Errno.EINVAL, 'SET_IRQS fds without DATA_EVENTFD');
  const count = counts[type];
  if (req.start >= count || req.start + req.count > count) {
    fail(Errno.EINVAL, `SET_IRQS ${type} [${req.start}, +${req.count}) beyond its ${count} vectors`);
  }
  if ((type === 'err' || type === 'req') && action !== IrqSetFlags.ACTION_TRIGGER) fail(Errno.EINVAL, `SET_IRQS ${type} takes TRIGGER only`);
  if (req.count === 0 && (action !== IrqSetFlags.ACTION_TRIGGER || data !== IrqSetFlags.DATA_NONE)) {
    fail(Errno.EINVAL, 'SET_IRQS count 0 is only DATA_NONE|ACTION_TRIGGER (disable all)');
  }
  // The spec's de-assign sends no fds at all; otherwise one per vector.
  if (data === IrqSetFlags.DATA_EVENTFD && fdCount !== 0 && fdCount !== req.count) {
    fail(Errno.EINVAL, `SET_IRQS ${fdCount} fds for count ${req.count}`);
  }
  return type;
};

const range = (start: number, count: number): number[] => Array.from({ length: count }, (_, i) => start + i);

const replace = <T>(list: readonly T[], start: number, values: readonly T[]): T[] => {
  const out = [...list];
  values.forEach((v, i) => (out[start + i] = v));
  return out;
};

const assign = (v: IrqVectors, req: SetIrqsRequest, fds: readonly number[]): { vectors: IrqVectors; released: number[] } => {
  const action = req.flags & IrqSetFlags.ACTION_TYPE_MASK;
  const key = action === IrqSetFlags.ACTION_TRIGGER ? 'trigger' : action === IrqSetFlags.ACTION_MASK ? 'mask' : 'unmask';
  const incoming = range(0, req.count).map((i) => fds[i]);
  const released = v[key].slice(req.start, req.start + req.count).filter((fd) => fd !== undefined);
  return { vectors: { ...v, [key]: replace(v[key], req.start, incoming) }, released };
};

/** Applies a validated SET_IRQS to one type's vectors. */
const apply = (v: IrqVectors, req: SetIrqsRequest, fds: readonly number[]): { vectors: IrqVectors; released: number[]; fire: number[] } => {
  const data = req.flags & IrqSetFlags.DATA_TYPE_MASK;
  if (req.count === 0) {
    const released = [...v.trigger, ...v.mask, ...v.unmask].filter((fd) => fd !== undefined);
    return { vectors: vectors(v.trigger.length), released, fire: [] };
  }
  if (data === IrqSetFlags.DATA_EVENTFD) return { ...assign(v, req, fds), fire: [] };
  const chosen = range(req.start, req.count).filter((_n, i) => data === IrqSetFlags.DATA_NONE || req.data?.[i] === 1);
  if (req.flags & IrqSetFlags.ACTION_TRIGGER) return { vectors: v, released: [], fire: chosen };
  const masked = [...v.masked];
  for (const n of chosen) masked[n] = (req.flags & IrqSetFlags.ACTION_MASK) !== 0;
  return { vectors: { ...v, masked }, released: [], fire: [] };
};

/**
 * Folds one SET_IRQS into the table: EVENTFD assigns (or, with no fds, de-assigns) the action's
 * eventfds; NONE/BOOL trigger, mask or unmask; count 0 disables every vector of the type.
 * Throws DeviceError EINVAL for every request libvfio-user rejects.
 */
export const applySetIrqs = (
  table: IrqTable,
  counts: Readonly<Record<IrqType, number>>,
  req: SetIrqsRequest,
  fds: readonly number[],
): SetIrqsOutcome => {
  const type = validate(req, counts, fds.length);
  const { vectors: next, released, fire } = apply(table[type], req, fds);
  return { table: { ...table, [type]: next }, type, released, fire };
};
