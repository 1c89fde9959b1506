import { defer, ignoreElements, type Observable } from 'rxjs';
import { Command, IrqSetFlags, type IrqIndex } from '../protocol/constants.js';
import { UnsupportedError } from '../protocol/errors.js';
import { decodeSetIrqsReply, encodeSetIrqsRequest, type IrqInfo, type SetIrqsRequest } from '../protocol/irq.js';
import { call$, type Wire } from './call.js';
import { irqIndex, type IrqType } from './irq-state.js';

/** Client-side control of interrupt vectors through DEVICE_SET_IRQS (no eventfds involved). */
export interface IrqCommands {
  /** Masks vectors [start, start + count) (DATA_NONE|MASK). */
  mask(type: IrqType, start?: number, count?: number): Observable<never>;
  /** Unmasks vectors [start, start + count) (DATA_NONE|UNMASK). */
  unmask(type: IrqType, start?: number, count?: number): Observable<never>;
  /** Triggers one vector (DATA_NONE|TRIGGER), or those whose flag is true from vector 0 (DATA_BOOL|TRIGGER). */
  trigger(type: IrqType, vectors: number | readonly boolean[]): Observable<never>;
}

/** IrqCommands plus the building blocks interrupt delivery uses. */
export interface IrqCommandSet extends IrqCommands {
  /** The index and info of a type; UnsupportedError when the device has no vector of it. */
  infoOf(type: IrqType): { readonly index: IrqIndex; readonly info: IrqInfo };
  /** Throws UnsupportedError naming what the type lacks. */
  unsupported(type: IrqType, what: string): never;
  /** Hands eventfds for vectors [start, start + fds.length) to the server (DATA_EVENTFD|TRIGGER). */
  assign(index: IrqIndex, start: number, fds: readonly number[]): Observable<never>;
  /** Disables every vector of an index (DATA_NONE|TRIGGER with start = count = 0). */
  disableIndex(index: IrqIndex): Observable<never>;
}

/** Builds the SET_IRQS commands for a device whose IRQ types are `irqs`. */
export const irqCommands = (wire: Wire, irqs: readonly IrqInfo[]): IrqCommandSet => {
  const send = (request: Omit<SetIrqsRequest, 'argsz'>, fds?: readonly number[]) =>
    defer(() => call$(wire, Command.DEVICE_SET_IRQS, encodeSetIrqsRequest(request), decodeSetIrqsReply, fds ? { fds } : {})).pipe(
      ignoreElements(),
    );
  const unsupported = (type: IrqType, what: string): never => {
    throw new UnsupportedError(`${type}: the device offers no ${what}`);
  };
  const infoOf = (type: IrqType) => {
    const index = irqIndex[type];
    const info = irqs[index];
    if (info === undefined || info.count === 0) unsupported(type, 'vectors');
    return { index, info: info! };
  };
  const range = (type: IrqType, start: number, count: number) => {
    const { index, info } = infoOf(type);
    if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 1 || start + count > info.count) {
      throw new RangeError(`${type}: vectors [${start}, ${start + count}) outside the device's ${info.count}`);
    }
    return index;
  };
  const none = (action: number) => (type: IrqType, start = 0, count = 1) =>
    defer(() => send({ flags: IrqSetFlags.DATA_NONE | action, index: range(type, start, count), start, count }));
  const trigger = (type: IrqType, vectors: number | readonly boolean[]) =>
    defer(() => {
      if (typeof vectors === 'number') return none(IrqSetFlags.ACTION_TRIGGER)(type, vectors, 1);
      const index = range(type, 0, vectors.length);
      const data = Buffer.from(vectors.map((v) => (v ? 1 : 0)));
      return send({ flags: IrqSetFlags.DATA_BOOL | IrqSetFlags.ACTION_TRIGGER, index, start: 0, count: vectors.length, data });
    });
  return {
    mask: none(IrqSetFlags.ACTION_MASK),
    unmask: none(IrqSetFlags.ACTION_UNMASK),
    trigger,
    infoOf,
    unsupported,
    assign: (index, start, fds) =>
      send({ flags: IrqSetFlags.DATA_EVENTFD | IrqSetFlags.ACTION_TRIGGER, index, start, count: fds.length }, fds),
    disableIndex: (index) => send({ flags: IrqSetFlags.DATA_NONE | IrqSetFlags.ACTION_TRIGGER, index, start: 0, count: 0 }),
  };
};
