/** DEVICE_SET_IRQS: the interrupt table folded, then masks reconciled and requested vectors fired. */
import { Errno } from '../../protocol/errno.js';
import { decodeSetIrqsRequest } from '../../protocol/irq.js';
import { fail } from '../errors.js';
import { deliver, reconcile, type Delivery } from '../gates.js';
import { applySetIrqs } from '../irq-table.js';
import type { DeviceState } from '../state.js';
import type { IrqType } from '../types.js';
import { withSession, type CommandHandler } from './types.js';

/** Fires vectors one after the other, collecting the eventfds to signal. */
export const fireAll = (state: DeviceState, type: IrqType, vectors: readonly number[]): Delivery =>
  vectors.reduce<Delivery>(
    (acc, n) => {
      const d = deliver(acc.state, type, n);
      return { state: d.state, signals: [...acc.signals, ...d.signals] };
    },
    { state, signals: [] },
  );

/**
 * DEVICE_SET_IRQS, validated as libvfio-user does (EINVAL, argsz must equal the payload size).
 * The eventfds it assigns are kept; the ones it replaces are closed.
 */
export const setIrqs: CommandHandler = (rt, state, frame) => {
  const req = decodeSetIrqsRequest(frame.payload);
  if (req.argsz !== frame.payload.length) fail(Errno.EINVAL, `SET_IRQS argsz ${req.argsz} != payload size ${frame.payload.length}`);
  const { irqCounts } = rt.device;
  const out = applySetIrqs(state.session.irqs, irqCounts, req, frame.fds);
  for (const fd of out.released) rt.io.close(fd);
  const next = withSession(state, { irqs: out.table });
  const masks = reconcile(state, next, irqCounts);
  const fired = fireAll(masks.state, out.type, out.fire);
  for (const fd of [...masks.signals, ...fired.signals]) rt.io.signal(fd);
  return { state: fired.state, kept: frame.fds };
};
