/** The server's state: what the device fold carries from one event to the next. */
import type { NegotiatedCapabilities } from '../protocol/capabilities.js';
import type { ConfigSpace } from '../pci/index.js';
import type { Endpoint } from '../wire/endpoint.js';
import type { PciDevice } from './device.js';
import { emptyDmaTable, type DmaTable } from './dma-table.js';
import { emptyIrqTable, type IrqTable } from './irq-table.js';
import { emptyMsixTable } from './msix-table.js';
import type { DirtyLog } from '../protocol/dirty-log.js';
import { runningMigration, type MigrationState } from './migration.js';
import type { IrqType } from './types.js';

/** The connected client: where to reply, where to send DMA requests, what it can take. */
export interface SessionLink {
  /** The main socket: the client's commands and our replies. */
  readonly endpoint: Endpoint;
  /** Where DMA_READ/DMA_WRITE go: the twin socket when negotiated, else the main one. */
  readonly dma: Endpoint;
  /** The client's capabilities (limits on what we send it). */
  readonly client: NegotiatedCapabilities;
  readonly twin: boolean;
  /** How DMA_READs to this client are paced (ServerLimits.dmaReadWindow and dmaReadChunk). */
  readonly reads: { readonly window: number; readonly chunk: number };
}

/** What belongs to one client and goes away when it disconnects. */
export interface SessionState {
  readonly link: SessionLink;
  readonly mappings: DmaTable;
  readonly irqs: IrqTable;
  /** Pages the device wrote through the client's mappings, while DMA logging is on. */
  readonly logging?: DirtyLog;
}

/** Pending interrupt vectors of each type, one bit per vector. */
export type PendingBits = Readonly<Record<IrqType, bigint>>;

/** The whole state; config space, MSI-X table and pending bits outlive clients. */
export interface DeviceState {
  readonly config: ConfigSpace;
  /** The MSI-X vector table (never mutated: each write yields a new Buffer). */
  readonly msixTable: Buffer;
  readonly pending: PendingBits;
  readonly session: SessionState | undefined;
  /** The migration device state (RUNNING unless a client moved it), and its data in flight. */
  readonly migration: MigrationState;
}

/** Limits this server advertises and enforces. */
export interface ServerLimits {
  readonly maxMsgFds: number;
  readonly maxDataXferSize: number;
  readonly maxDmaMaps: number;
  /** Page sizes DMA_MAP accepts (the smallest one sets the alignment). */
  readonly pgsizes: number;
  /**
   * DMA_READ data asked of a client and not yet answered, at most (bytes), and the largest one
   * DMA_READ (below the client's max_data_xfer_size). The defaults keep QEMU 11.1.3 safe: it takes a
   * short write of a reply for the whole one, so the replies it owes must fit its socket buffer. A
   * client that writes its replies whole (libvfio-user's, this project's) can be given more: a
   * DMA_READ costs a round trip whatever its size, so 1 MiB ones read by message about 4x faster.
   */
  readonly dmaReadWindow: number;
  readonly dmaReadChunk: number;
}

/** Defaults: QEMU's limits where it has one (it rejects a server max_msg_fds above 16). */
export const defaultLimits: ServerLimits = {
  maxMsgFds: 16,
  maxDataXferSize: 1 << 20,
  maxDmaMaps: 65535,
  pgsizes: 4096,
  dmaReadWindow: 128 << 10,
  dmaReadChunk: 64 << 10,
};

/** No vector pending. */
export const noPending: PendingBits = { intx: 0n, msi: 0n, msix: 0n, err: 0n, req: 0n };

/** The state of a device nobody has connected to yet. */
export const initialState = (device: PciDevice): DeviceState => ({
  config: device.config,
  msixTable: emptyMsixTable(device.irqCounts.msix),
  pending: noPending,
  session: undefined,
  migration: runningMigration,
});

/** The state of a freshly attached client. */
export const newSession = (device: PciDevice, link: SessionLink): SessionState => ({
  link,
  mappings: emptyDmaTable,
  irqs: emptyIrqTable(device.irqCounts),
});

// Each state wrapped alone, once: a posted write or a register write that changed no device state
// answers with this one object (a state is immutable, so its wrapper can be shared). Weak: a state
// the server has left behind goes with its wrapper.
const alone = new WeakMap<DeviceState, { readonly state: DeviceState }>();

/** `{ state }`, one object per state rather than one per access (the access path's outcomes). */
export const stateOnly = (state: DeviceState): { readonly state: DeviceState } => {
  let only = alone.get(state);
  if (!only) alone.set(state, (only = { state }));
  return only;
};
