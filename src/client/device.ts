import {
  EMPTY,
  ReplaySubject,
  catchError,
  concat,
  defer,
  ignoreElements,
  of,
  share,
  type Observable,
  type Subscription,
} from 'rxjs';
import type { CorrelatorStats } from '../wire/correlate.js';
import type { NegotiatedCapabilities } from '../protocol/capabilities.js';
import { Command, DeviceFlags } from '../protocol/constants.js';
import { decodeDeviceInfoReply, encodeDeviceInfoRequest, type DeviceInfo } from '../protocol/device-info.js';
import { type DisconnectedError, UnsupportedError } from '../protocol/errors.js';
import type { IrqInfo } from '../protocol/irq.js';
import type { RegionInfo } from '../protocol/region-info.js';
import { decodeDeviceResetReply, encodeDeviceResetRequest } from '../protocol/reset.js';
import type { TraceEvent } from '../wire/trace.js';
import type { ParsedConfig } from '../pci/parse.js';
import { call$, type Wire } from './call.js';
import type { Container, DmaCommit } from './container.js';
import type { InterruptSignal, Interrupts } from './interrupts.js';
import type { IrqType } from './irq-state.js';
import type { DeviceFeatures, LoggingRange, MigrationFeatures, MigrationRequests } from './migration.js';
import type { DmaMode } from './options.js';
import type { ClientRegion } from './region-access.js';

/**
 * A realized vfio-user device (the Observable layer). Every method returns a cold Observable: nothing
 * is sent until it is subscribed. Methods whose result is "done" complete without a value.
 */
export interface ClientDevice {
  /** Version the server answered. */
  readonly version: { readonly major: number; readonly minor: number };
  /** The server's capabilities (its limits, honoured when sending). */
  readonly caps: NegotiatedCapabilities;
  readonly info: DeviceInfo;
  /** Region info by index (caps parsed). */
  readonly regions: readonly RegionInfo[];
  /** IRQ info by index (INTx, MSI, MSI-X, ERR, REQ). */
  readonly irqs: readonly IrqInfo[];
  /** Config space as read at realize, parsed: ids, class, header type, BARs, capabilities. */
  readonly config: ParsedConfig;
  /** The config space bytes that `config` was parsed from. */
  readonly configBytes: Buffer;
  /** Whether the server's DMA requests come on the twin socket. */
  readonly twinSocket: boolean;
  /** How guest memory is mapped for this server. */
  readonly dmaMode: DmaMode;
  /** Whether BAR writes are posted (off with the option, or when any region is mappable). */
  readonly postedWrites: boolean;
  /** Whether posted writes may be coalesced into REGION_WRITE_MULTI (the server offered it). */
  readonly writeMulti: boolean;
  /** Things realize worked around (an area left unmapped, config space warnings). */
  readonly warnings: readonly string[];
  /** Accessor of a region by index; RangeError outside [0, num_regions). */
  region(index: number): ClientRegion;
  /** Sends a cheap request and waits: every earlier posted write has then been processed. */
  fence(): Observable<never>;
  /** Creates eventfds for `count` vectors (default all) and hands them over in max_msg_fds chunks. */
  enableInterrupts(type: IrqType, count?: number): Observable<never>;
  /** Disables every vector of a type and closes its eventfds. */
  disableInterrupts(type: IrqType): Observable<never>;
  /** Masks vectors [start, start + count) of a type. */
  maskInterrupts(type: IrqType, start?: number, count?: number): Observable<never>;
  /** Unmasks vectors [start, start + count) of a type. */
  unmaskInterrupts(type: IrqType, start?: number, count?: number): Observable<never>;
  /** Triggers one vector, or those flagged true (from vector 0), from the client. */
  triggerInterrupt(type: IrqType, vectors: number | readonly boolean[]): Observable<never>;
  /** Signals of the enabled vectors (hot: subscribe before enabling); ends with the connection's cause. */
  readonly interrupts$: Observable<InterruptSignal>;
  /** Outcome of every memory transaction turned into DMA_MAP/DMA_UNMAP. */
  readonly dmaCommits$: Observable<DmaCommit>;
  /** Waits until the latest memory transaction is committed; errors with its first failure. */
  dmaSettled(): Observable<DmaCommit>;
  /** DEVICE_RESET; UnsupportedError when the device did not report the RESET flag. */
  reset(): Observable<never>;
  /** What DEVICE_FEATURE offers: migration (with PRE_COPY or not, and the state now) and dirty logging. */
  probeFeatures(): Observable<DeviceFeatures>;
  /** GET MIGRATION: whether the device migrates (RemoteError EINVAL when it does not), with PRE_COPY or not. */
  migrationFeatures(): Observable<MigrationFeatures>;
  /** GET MIG_DEVICE_STATE: the migration device state (DeviceState: RUNNING, STOP, STOP_COPY...). */
  migrationState(): Observable<number>;
  /** SET MIG_DEVICE_STATE; the server takes the arcs to it and answers once there (EINVAL: not reachable). */
  setMigrationState(state: number): Observable<never>;
  /**
   * One MIG_DATA_READ of up to `size` bytes (default: the server's max_data_xfer_size); fewer bytes
   * mean no more for now (PRE_COPY) or the end of the data (STOP_COPY).
   */
  readMigrationData(size?: number): Observable<Buffer>;
  /** MIG_DATA_WRITE of `data` in RESUMING, in pieces of at most the server's max_data_xfer_size. */
  writeMigrationData(data: Buffer): Observable<never>;
  /**
   * DMA_LOGGING_START: the server logs the pages the device writes through our mappings, and we log
   * those its DMA_WRITE messages write; emits the page size chosen. No ranges: every address.
   */
  startDirtyLogging(pageSize?: number, ranges?: readonly LoggingRange[]): Observable<number>;
  /** DMA_LOGGING_STOP. */
  stopDirtyLogging(): Observable<never>;
  /** The dirty bitmap of a range (a bit per page, u64 words, little-endian), the server's and ours ORed; both cleared. */
  dirtyBitmap(iova: number, length: number, pageSize?: number): Observable<Buffer>;
  /** Unmaps DMA, disables interrupts, closes every fd, mapping and socket. Idempotent; never fails. */
  close(): Observable<never>;
  /** Emits the cause once when the connection ends, whoever ended it (replayed to late subscribers); with reconnect, once the attempts run out. */
  readonly closed$: Observable<DisconnectedError>;
  /** With the reconnect option: each loss of the server, each failed attempt, each reconnection; completes when the device ends. */
  readonly reconnects$: Observable<ReconnectEvent>;
  /** Every message sent or received, on the main socket and the twin socket. */
  readonly trace$: Observable<TraceEvent>;
  /** Counters of our requests on the main socket: replies awaited now, replies that matched none. */
  readonly stats: CorrelatorStats;
}

/** What a reconnecting device goes through (see ClientOptions.reconnect). */
export type ReconnectEvent =
  | { readonly kind: 'lost'; readonly cause: DisconnectedError }
  | { readonly kind: 'retrying'; readonly attempt: number; readonly error: unknown }
  | { readonly kind: 'reconnected' };

/** Everything realize has built, to assemble into a device. */
export interface DeviceParts extends Pick<ClientDevice, 'version' | 'caps' | 'info' | 'irqs' | 'config' | 'configBytes' | 'warnings' | 'reconnects$'> {
  readonly wire: Wire;
  readonly regions: readonly ClientRegion[];
  readonly flags: Pick<ClientDevice, 'twinSocket' | 'dmaMode' | 'postedWrites' | 'writeMulti'>;
  readonly container: Container | undefined;
  readonly interrupts: Interrupts;
  readonly migration: MigrationRequests;
  readonly closed$: ReplaySubject<DisconnectedError>;
  /** Local resources: subscriptions, mappings, endpoints. */
  readonly scope: Subscription;
  /** Messages on the main socket and the twin socket. */
  readonly trace$: Observable<TraceEvent>;
}

const PAGE = 4096;

const quiet = (o: Observable<unknown>): Observable<never> => o.pipe(ignoreElements(), catchError(() => EMPTY));

/** Teardown in QEMU's order: unmap DMA, disable interrupts, then local resources (fds, mappings, sockets). */
const closing = (p: DeviceParts): Observable<never> =>
  concat(
    quiet(p.container?.close$() ?? EMPTY),
    quiet(p.interrupts.close$()),
    defer(() => (p.scope.unsubscribe(), EMPTY)),
  ).pipe(share({ connector: () => new ReplaySubject<never>(), resetOnError: false, resetOnComplete: false, resetOnRefCountZero: false }));

/** Assembles the device from the parts realize has built. */
export const assembleDevice = (p: DeviceParts): ClientDevice => {
  const close$ = closing(p);
  const { wire } = p;
  return {
    version: p.version,
    caps: p.caps,
    info: p.info,
    regions: p.regions.map((r) => r.info),
    irqs: p.irqs,
    config: p.config,
    configBytes: p.configBytes,
    ...p.flags,
    warnings: p.warnings,
    region: (index) => {
      const r = p.regions[index];
      if (!r) throw new RangeError(`region ${index}: the device has ${p.regions.length} regions`);
      return r;
    },
    fence: () => call$(wire, Command.DEVICE_GET_INFO, encodeDeviceInfoRequest(), (x) => decodeDeviceInfoReply(x)).pipe(ignoreElements()),
    enableInterrupts: p.interrupts.enable,
    disableInterrupts: p.interrupts.disable,
    maskInterrupts: p.interrupts.mask,
    unmaskInterrupts: p.interrupts.unmask,
    triggerInterrupt: p.interrupts.trigger,
    interrupts$: p.interrupts.interrupts$,
    dmaCommits$: p.container?.commits$ ?? EMPTY,
    dmaSettled: () => p.container?.settled$() ?? of({ seq: 0, ops: [], errors: [] }),
    reset: () =>
      defer(() => {
        if ((p.info.flags & DeviceFlags.RESET) === 0) throw new UnsupportedError('DEVICE_RESET: the device did not report the RESET flag');
        return call$(wire, Command.DEVICE_RESET, encodeDeviceResetRequest(), decodeDeviceResetReply);
      }).pipe(ignoreElements()),
    probeFeatures: () => p.migration.probe(),
    migrationFeatures: () => p.migration.features(),
    migrationState: () => p.migration.state(),
    setMigrationState: (state) => p.migration.setState(state),
    readMigrationData: (size = p.caps.max_data_xfer_size) => p.migration.readData(size),
    writeMigrationData: (data) => p.migration.writeData(data),
    startDirtyLogging: (pageSize = PAGE, ranges = []) => p.migration.startLogging(pageSize, ranges),
    stopDirtyLogging: () => p.migration.stopLogging(),
    dirtyBitmap: (iova, length, pageSize = PAGE) => p.migration.dirtyBitmap(iova, length, pageSize),
    close: () => close$,
    closed$: p.closed$.asObservable(),
    reconnects$: p.reconnects$,
    trace$: p.trace$,
    get stats() {
      return wire.endpoint.stats;
    },
  };
};
