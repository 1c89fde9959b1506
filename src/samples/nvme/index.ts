/**
 * An NVMe controller (NVMe 1.4 register set, NVM command set) with one namespace, that a stock
 * Linux `nvme` driver binds to and uses as a disk.
 *
 * - BAR 0 (64-bit memory, 16 KiB): the controller registers and, from 0x1000, the doorbells (which
 *   clients post). BAR 4: the MSI-X table and PBA, one vector per queue pair. INTx when MSI-X is off.
 * - Admin: Identify, Get/Set Features, Create/Delete I/O SQ/CQ, Get Log Page (error, SMART / health,
 *   firmware slot), Asynchronous Event Request, Abort, Keep Alive.
 * - I/O: Read, Write, Flush, Write Zeroes, Dataset Management (deallocate), through PRPs.
 * - The namespace is a file (its writes reach the file as they happen; Flush syncs it) or memory.
 */
import { BehaviorSubject, EMPTY, Subject, concat, concatMap, defer, first, of, range, type Observable } from 'rxjs';
import { createHash } from 'node:crypto';
import { memoryBar, msix, msixBar, pciDevice, pcie, pm, type PciDevice } from '../../server/index.js';
import { EXPERIMENTAL_IDS, type SampleOptions } from '../catalog.js';
import { nvmeController, type ControllerSnapshot, type NvmeEvent } from './controller.js';
import { loadController, saveController } from './migration.js';
import { fileStore, memoryStore, type BlockStore } from './namespace.js';
import { BAR0_SIZE } from './registers.js';
import { initialController, type ControllerEnv } from './state.js';

export { NvmeReg, Cc, Csts, Aqa, DOORBELLS, BAR0_SIZE, PAGE_SIZE, MAX_QUEUE_ENTRIES, doorbellOffset, nvmeRegisters } from './registers.js';
export { AdminOpcode, FeatureId } from './admin.js';
export { IoOpcode } from './io.js';
export { Cns, IDENTIFY_SIZE, Oncs } from './identify.js';
export { LogPage, AsyncEventType, AsyncEventInfo } from './logs.js';
export { fileStore, memoryStore, type BlockStore } from './namespace.js';
export {
  CQE_SIZE,
  SQE_SIZE,
  CommandStatus,
  GenericStatus,
  decodeCompletion,
  decodeSubmission,
  encodeCompletion,
  encodeSubmission,
  type Completion,
  type Status,
  type Submission,
} from './entries.js';
export { PrpError, prpSegments, type Segment } from './prp.js';

/** The storage class code of an NVMe controller (mass storage, non-volatile memory, NVM Express). */
export const NVME_CLASS_CODE = 0x010802;

/** Default namespace size when no file gives one: 64 MiB. */
export const DEFAULT_NVME_SIZE = 64 << 20;

/** How an NVMe controller is made. */
export interface NvmeOptions extends SampleOptions {
  /** A file backing the namespace (created when missing); without one, anonymous memory. */
  readonly backing?: string;
  /** Storage of your own instead (a remote volume, a test double); `backing` and `size` then do not apply. */
  readonly store?: BlockStore;
  /** Namespace size in bytes (default: the file's size, or 64 MiB in memory); a multiple of the block size. */
  readonly size?: number;
  /** Logical block size: 512 (default) or 4096. */
  readonly blockSize?: 512 | 4096;
  /** Serial number (default derived from the backing file's path, or "vfio-user-rx-mem"). */
  readonly serial?: string;
  /** I/O queue pairs (1..64, default 8): MSI-X has one vector more. */
  readonly queues?: number;
}

/** An NVMe controller device, and its namespace's storage (close it when the device is done). */
export interface NvmeDevice extends PciDevice {
  readonly store: BlockStore;
  /** Closes the backing file. */
  close(): void;
}

/** Migration chunks of a namespace in memory. */
const CHUNK = 1 << 20;

/** The controller's saved state, then (from memory) its namespace in chunks. */
const savedController = (snapshot: ControllerSnapshot, store: BlockStore): Observable<Buffer> =>
  defer(() =>
    concat(
      of(saveController(snapshot.state, { size: store.size, included: store.migrates })),
      store.migrates ? range(0, Math.ceil(store.size / CHUNK)).pipe(concatMap((i) => store.read(i * CHUNK, Math.min(CHUNK, store.size - i * CHUNK)))) : EMPTY,
    ),
  );

/** Creates an NVMe controller (ids: EXPERIMENTAL_IDS.nvme, or your own; Linux binds by class code). */
export const nvmeDevice = (options: NvmeOptions = {}): NvmeDevice => {
  const blockSize = options.blockSize ?? 512;
  if (blockSize !== 512 && blockSize !== 4096) throw new RangeError(`block size ${String(blockSize)}: 512 or 4096`);
  const queues = options.queues ?? 8;
  if (!Number.isInteger(queues) || queues < 1 || queues > 64) throw new RangeError(`queues ${queues}: 1 to 64`);
  if (options.size !== undefined && (!Number.isSafeInteger(options.size) || options.size <= 0 || options.size % blockSize !== 0))
    throw new RangeError(`namespace size ${options.size}: a positive multiple of ${blockSize}`);
  if (options.store && (options.backing || options.size !== undefined)) throw new RangeError('a store of your own takes no backing file or size');
  const store = options.store ?? (options.backing ? fileStore(options.backing, options.size) : memoryStore(options.size ?? DEFAULT_NVME_SIZE));
  if (store.size % blockSize !== 0) {
    store.close();
    throw new RangeError(`${store.description} is ${store.size} bytes, not a multiple of the ${blockSize}-byte block`);
  }
  const ids = { ...EXPERIMENTAL_IDS.nvme, ...options.ids };
  const serial = options.serial ?? (options.backing ? `vur-${createHash('sha256').update(options.backing).digest('hex').slice(0, 16)}` : 'vfio-user-rx-mem');
  const env: ControllerEnv = {
    identity: {
      vendorId: ids.vendorId,
      subsystemVendorId: ids.vendorId,
      serial,
      model: 'vfio-user-rx NVMe controller',
      firmware: '1.0',
      mdts: 5,
      queues,
      aerLimit: 4,
      errorLogEntries: 64,
      warningTemp: 343,
      criticalTemp: 373,
    },
    namespace: {
      blocks: store.size / blockSize,
      blockShift: Math.log2(blockSize),
      nguid: createHash('sha256').update(`nguid:${serial}`).digest().subarray(0, 16),
    },
    store,
    vectors: queues + 1,
    temperature: 313,
    born: Date.now(),
  };
  const snapshot: ControllerSnapshot = { state: initialController(env), posting: 0, idle$: new BehaviorSubject(true), control: new Subject<NvmeEvent>() };
  const device = pciDevice({
    name: 'nvme',
    ids: { ...ids, subsystemVendorId: ids.vendorId, subsystemId: ids.deviceId, classCode: NVME_CLASS_CODE },
    interruptPin: 1,
    bars: { 0: memoryBar(BAR0_SIZE, nvmeController(env, snapshot), { is64: true }), 4: msixBar(env.vectors) },
    capabilities: [pm(), msix(env.vectors, 4), pcie()],
    // DEVICE_RESET answers once the commands in flight have ended (their completions are dropped).
    reset: () => snapshot.idle$.pipe(first((idle) => idle)),
    // It stops by fetching no more commands and letting those running finish (their completions
    // written); its state, and a namespace in memory, go at stop-and-copy (see migration.ts).
    migration: {
      quiesce: () => {
        snapshot.control.next({ kind: 'stop' });
        return snapshot.idle$.pipe(first((idle) => idle));
      },
      resume: () => snapshot.control.next({ kind: 'run' }),
      save: (phase) => (phase === 'stop-copy' ? savedController(snapshot, store) : undefined),
      load: (data) => {
        const { state, namespace } = loadController(data, store.size);
        return concat(namespace ? store.write(0, namespace) : EMPTY, defer(() => (snapshot.control.next({ kind: 'load', state }), EMPTY)));
      },
    },
  });
  return { ...device, store, close: () => store.close() };
};
