/**
 * What a device needs while it is served: its RAM memfds, wired handlers, the device context,
 * and the subjects through which device code and the state fold talk.
 */
import { BehaviorSubject, Subject, distinctUntilChanged, map, type Observable, type Unsubscribable } from 'rxjs';
import type { TraceEvent } from '../wire/trace.js';
import type { ConfigEffect } from '../pci/index.js';
import type { PciDevice } from './device.js';
import { dmaRanges, emptyDmaTable } from './dma-table.js';
import { guestMemory, type MappedAccess } from './guest-memory.js';
import { wireHandler, type HandlerPort } from './handlers.js';
import type { MappedMemory, ServerIo } from './io.js';
import { initialState, type DeviceState, type ServerLimits } from './state.js';
import type { DeviceContext, IrqType, RegionHandler, ResetReason } from './types.js';

/** A RAM-backed region's memfd (sent to clients) and our own mapping of it. */
export interface RamBacking {
  readonly fd: number;
  readonly memory: MappedMemory;
}

/** An interrupt raised by device code, waiting for the fold. */
export interface TriggerRequest {
  readonly type: IrqType;
  readonly vector: number;
}

/** What a device does that no message shows (for metrics). */
export type ServerActivity =
  | { readonly kind: 'interrupt'; readonly type: IrqType; readonly vector: number }
  | { readonly kind: 'dma'; readonly path: 'mapping'; readonly direction: 'read' | 'write'; readonly bytes: number };

/** Options of a runtime. */
export interface RuntimeOptions {
  readonly limits: ServerLimits;
  /** Reply timeout for our DMA requests (ms; 0 = none). */
  readonly timeoutMs: number;
  /** Gets every message of the twin sockets this runtime opens (the caller traces the ones it gives). */
  readonly onTrace?: (e: TraceEvent) => void;
  /** Gets what the device does that no message shows: interrupts raised, DMA through the mappings. */
  readonly onActivity?: (a: ServerActivity) => void;
  /**
   * A client that connects while another is served: 'refuse' (the default) answers its first
   * message EBUSY and closes it at once; 'queue' leaves it waiting, unread, until the first leaves.
   */
  readonly whenBusy?: 'refuse' | 'queue';
}

/** The running device. `unsubscribe` releases its memfds and mappings. */
export interface Runtime extends Unsubscribable {
  readonly device: PciDevice;
  readonly io: ServerIo;
  readonly options: RuntimeOptions;
  readonly ctx: DeviceContext;
  /** Handlers by region index (handler-backed regions and RAM traps). */
  readonly ports: ReadonlyMap<number, HandlerPort>;
  readonly ram: ReadonlyMap<number, RamBacking>;
  /** The latest state of the fold (the fold's output, replayed to device code). */
  readonly state: BehaviorSubject<DeviceState>;
  readonly triggers: Subject<TriggerRequest>;
  readonly configEffects: Subject<ConfigEffect>;
  readonly resets: Subject<ResetReason>;
}

const createRam = (device: PciDevice, io: ServerIo): Map<number, RamBacking> => {
  const ram = new Map<number, RamBacking>();
  try {
    for (const r of device.regions) {
      if (r.backing.kind !== 'ram') continue;
      const fd = io.memfd(`${device.name}-region${r.index}`, r.size);
      try {
        ram.set(r.index, { fd, memory: io.map(fd, 0, r.size, 'rw') });
      } catch (err) {
        io.close(fd);
        throw err;
      }
    }
  } catch (err) {
    releaseRam(ram, io);
    throw err;
  }
  return ram;
};

const releaseRam = (ram: ReadonlyMap<number, RamBacking>, io: ServerIo): void => {
  for (const { fd, memory } of ram.values()) {
    memory.unmap();
    io.close(fd);
  }
};

const handlerOf = (device: PciDevice, index: number): RegionHandler | undefined => {
  const b = device.regions[index]?.backing;
  return b?.kind === 'handler' ? b.handler : b?.kind === 'ram' ? b.trap : undefined;
};

const mappedAccess = (options: RuntimeOptions): MappedAccess | undefined => {
  const report = options.onActivity;
  return report && ((direction, bytes) => report({ kind: 'dma', path: 'mapping', direction, bytes }));
};

const context = (rt: Omit<Runtime, 'ctx' | 'ports' | 'unsubscribe'>): DeviceContext => {
  const state$: Observable<DeviceState> = rt.state;
  return {
    trigger: (type, vector = 0) => {
      const count = rt.device.irqCounts[type];
      if (!Number.isInteger(vector) || vector < 0 || vector >= count) {
        throw new RangeError(`${type} vector ${vector} does not exist (the device has ${count})`);
      }
      rt.options.onActivity?.({ kind: 'interrupt', type, vector });
      rt.triggers.next({ type, vector });
    },
    dma: guestMemory(() => rt.state.value, mappedAccess(rt.options)),
    mappings$: state$.pipe(map((s) => s.session?.mappings ?? emptyDmaTable), distinctUntilChanged(), map(dmaRanges)),
    connected$: state$.pipe(map((s) => s.session !== undefined), distinctUntilChanged()),
    config$: state$.pipe(map((s) => s.config), distinctUntilChanged()),
    configEffects$: rt.configEffects.asObservable(),
    reset$: rt.resets.asObservable(),
    ram: (region) => {
      const backing = rt.ram.get(region);
      if (!backing) throw new RangeError(`region ${region} is not RAM-backed`);
      return backing.memory.bytes;
    },
  };
};

/** Starts a device's runtime: memfds for its RAM regions, its context, and its wired handlers. */
export const createRuntime = (device: PciDevice, io: ServerIo, options: RuntimeOptions): Runtime => {
  const ram = createRam(device, io);
  const base = {
    device,
    io,
    options,
    ram,
    state: new BehaviorSubject(initialState(device)),
    triggers: new Subject<TriggerRequest>(),
    configEffects: new Subject<ConfigEffect>(),
    resets: new Subject<ResetReason>(),
  };
  const ctx = context(base);
  const ports = new Map<number, HandlerPort>();
  for (const r of device.regions) {
    const handler = handlerOf(device, r.index);
    if (handler) ports.set(r.index, wireHandler(handler, ctx));
  }
  const unsubscribe = () => {
    for (const s of [base.triggers, base.configEffects, base.resets, base.state]) s.complete();
    releaseRam(ram, io);
  };
  return { ...base, ctx, ports, unsubscribe };
};
