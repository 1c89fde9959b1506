import { firstValueFrom, lastValueFrom, map, type Observable } from 'rxjs';
import type { NegotiatedCapabilities } from '../protocol/capabilities.js';
import type { DeviceInfo } from '../protocol/device-info.js';
import type { DisconnectedError } from '../protocol/errors.js';
import type { IrqInfo } from '../protocol/irq.js';
import type { RegionInfo } from '../protocol/region-info.js';
import type { TraceEvent } from '../wire/trace.js';
import type { ParsedConfig } from '../pci/parse.js';
import type { DmaCommit } from './container.js';
import type { ClientDevice } from './device.js';
import type { InterruptSignal } from './interrupts.js';
import type { IrqType } from './irq-state.js';
import type { MappedArea } from './mmap-regions.js';
import type { ClientOptions, DmaMode } from './options.js';
import { eagerValuesFrom } from './eager.js';
import { realize$ } from './realize.js';
import type { ClientRegion, WriteOptions } from './region-access.js';

/** A region of an opened device, with Promise methods. */
export interface Region {
  readonly index: number;
  readonly info: RegionInfo;
  readonly areas: readonly MappedArea[];
  readonly posted: boolean;
  /** Reads `count` bytes at `offset` (by mmap when the range lies in a mapped area). */
  read(offset: number, count: number): Promise<Buffer>;
  /** Writes `data` at `offset`; resolves once written (posted: once handed to the socket). */
  write(offset: number, data: Buffer, options?: WriteOptions): Promise<void>;
  /** The Observable accessor underneath. */
  readonly rx: ClientRegion;
}

/** An interrupt as delivered by the Promise facade. */
export interface Interrupt {
  readonly index: number;
  readonly type: IrqType;
  readonly vector: number;
  readonly count: bigint;
  /** Unmasks an automasked vector (INTx); resolves at once for the others. */
  ack(): Promise<void>;
}

/** A device opened with `openDevice`: the Promise facade over ClientDevice. */
export interface Device {
  readonly version: ClientDevice['version'];
  readonly caps: NegotiatedCapabilities;
  readonly info: DeviceInfo;
  readonly regions: readonly RegionInfo[];
  readonly irqs: readonly IrqInfo[];
  readonly config: ParsedConfig;
  readonly configBytes: Buffer;
  readonly twinSocket: boolean;
  readonly dmaMode: DmaMode;
  readonly postedWrites: boolean;
  readonly writeMulti: boolean;
  readonly warnings: readonly string[];
  region(index: number): Region;
  /** Resolves once every earlier posted write has been processed by the server. */
  fence(): Promise<void>;
  enableInterrupts(type: IrqType, count?: number): Promise<void>;
  disableInterrupts(type: IrqType): Promise<void>;
  maskInterrupts(type: IrqType, start?: number, count?: number): Promise<void>;
  unmaskInterrupts(type: IrqType, start?: number, count?: number): Promise<void>;
  triggerInterrupt(type: IrqType, vectors: number | readonly boolean[]): Promise<void>;
  /** Every interrupt from now on, for `for await`; ends when the device closes, throws when the connection fails. */
  interrupts(): AsyncIterableIterator<Interrupt>;
  /** Outcomes of memory transactions from now on, for `for await`. */
  dmaCommits(): AsyncIterableIterator<DmaCommit>;
  /** Resolves when the latest memory transaction is committed; rejects with its first failure. */
  dmaSettled(): Promise<DmaCommit>;
  reset(): Promise<void>;
  /** Closes everything; idempotent, never rejects. */
  close(): Promise<void>;
  /** Resolves with the cause when the connection ends. */
  closed(): Promise<DisconnectedError>;
  /** Every message sent or received, for `for await`. */
  trace(): AsyncIterableIterator<TraceEvent>;
  /** The Observable device underneath. */
  readonly rx: ClientDevice;
}

const NOTHING = { defaultValue: undefined };
const done = (o: Observable<unknown>): Promise<void> => lastValueFrom(o, NOTHING).then(() => undefined);

const interrupt = (s: InterruptSignal): Interrupt => ({
  index: s.index,
  type: s.type,
  vector: s.vector,
  count: s.count,
  ack: () => done(s.ack()),
});

const region = (r: ClientRegion): Region => ({
  index: r.index,
  info: r.info,
  areas: r.areas,
  posted: r.posted,
  read: (offset, count) => r.readAsync(offset, count),
  write: (offset, data, options) => r.writeAsync(offset, data, options),
  rx: r,
});

/** Wraps an Observable device in the Promise facade. */
export const promiseDevice = (dev: ClientDevice): Device => {
  // One wrapper per region, made on first use: callers may look a region up for every access.
  const regions = new Map<number, Region>();
  const regionOf = (index: number): Region => {
    let r = regions.get(index);
    if (!r) regions.set(index, (r = region(dev.region(index))));
    return r;
  };
  return {
    version: dev.version,
    caps: dev.caps,
    info: dev.info,
    regions: dev.regions,
    irqs: dev.irqs,
    config: dev.config,
    configBytes: dev.configBytes,
    twinSocket: dev.twinSocket,
    dmaMode: dev.dmaMode,
    postedWrites: dev.postedWrites,
    writeMulti: dev.writeMulti,
    warnings: dev.warnings,
    region: regionOf,
    fence: () => done(dev.fence()),
    enableInterrupts: (type, count) => done(dev.enableInterrupts(type, count)),
    disableInterrupts: (type) => done(dev.disableInterrupts(type)),
    maskInterrupts: (type, start, count) => done(dev.maskInterrupts(type, start, count)),
    unmaskInterrupts: (type, start, count) => done(dev.unmaskInterrupts(type, start, count)),
    triggerInterrupt: (type, vectors) => done(dev.triggerInterrupt(type, vectors)),
    interrupts: () => eagerValuesFrom(dev.interrupts$.pipe(map(interrupt))),
    dmaCommits: () => eagerValuesFrom(dev.dmaCommits$),
    dmaSettled: () => firstValueFrom(dev.dmaSettled()),
    reset: () => done(dev.reset()),
    close: () => done(dev.close()),
    closed: () => firstValueFrom(dev.closed$),
    trace: () => eagerValuesFrom(dev.trace$),
    rx: dev,
  };
};

/**
 * Opens a vfio-user device: connects, negotiates, maps guest memory for DMA, discovers regions
 * and IRQs, reads config space. Rejects with a typed error (ConnectError, VersionError, ...).
 */
export const openDevice = (options: ClientOptions): Promise<Device> => firstValueFrom(realize$(options)).then(promiseDevice);
