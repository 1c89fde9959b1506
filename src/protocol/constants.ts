/** Wire constants of vfio-user, spelled as in the spec and linux/vfio.h. */

/** Size of the message header that starts every message. */
export const HEADER_SIZE = 16;

/** Protocol version this implementation speaks. */
export const VFIO_USER_MAJOR = 0;
/** Highest minor version this implementation implements. */
export const VFIO_USER_MINOR = 2;

/** Command numbers (header `cmd`). */
export const Command = {
  VERSION: 1,
  DMA_MAP: 2,
  DMA_UNMAP: 3,
  DEVICE_GET_INFO: 4,
  DEVICE_GET_REGION_INFO: 5,
  DEVICE_GET_REGION_IO_FDS: 6,
  DEVICE_GET_IRQ_INFO: 7,
  DEVICE_SET_IRQS: 8,
  REGION_READ: 9,
  REGION_WRITE: 10,
  DMA_READ: 11,
  DMA_WRITE: 12,
  DEVICE_RESET: 13,
  REGION_WRITE_MULTI: 15,
  DEVICE_FEATURE: 16,
  MIG_DATA_READ: 17,
  MIG_DATA_WRITE: 18,
} as const;
export type CommandName = keyof typeof Command;
export type CommandNumber = (typeof Command)[CommandName];

const commandNames = new Map<number, CommandName>(
  Object.entries(Command).map(([name, n]) => [n, name as CommandName]),
);
/** The spec's name of a command number, or `CMD_<n>` for one it does not define. */
export const commandName = (n: number): string => commandNames.get(n) ?? `CMD_${n}`;
/** Whether a number is a command this implementation knows. */
export const isKnownCommand = (n: number): n is CommandNumber => commandNames.has(n);

/** Header flag bits. */
export const HeaderFlags = {
  TYPE_MASK: 0xf,
  NO_REPLY: 0x10,
  ERROR: 0x20,
} as const;

/** Values of the header's type bits. */
export const MessageType = { COMMAND: 0, REPLY: 1 } as const;

/** PCI region indexes. */
export const PciRegion = {
  BAR0: 0,
  BAR1: 1,
  BAR2: 2,
  BAR3: 3,
  BAR4: 4,
  BAR5: 5,
  ROM: 6,
  CONFIG: 7,
  VGA: 8,
  NUM_REGIONS: 9,
} as const;

/** PCI IRQ indexes. */
export const PciIrq = { INTX: 0, MSI: 1, MSIX: 2, ERR: 3, REQ: 4, NUM_IRQS: 5 } as const;
export type IrqIndex = 0 | 1 | 2 | 3 | 4;

/** DEVICE_GET_INFO flags. */
export const DeviceFlags = { RESET: 1 << 0, PCI: 1 << 1 } as const;

/** DEVICE_GET_REGION_INFO flags. */
export const RegionFlags = { READ: 1 << 0, WRITE: 1 << 1, MMAP: 1 << 2, CAPS: 1 << 3 } as const;

/** Region info capability ids. */
export const RegionCap = { SPARSE_MMAP: 1, TYPE: 2, MSIX_MAPPABLE: 3 } as const;

/** Region type values for CAP_TYPE. */
export const RegionType = { PCI_VENDOR_TYPE: 0x80000000, GFX: 1, CCW: 2, MIGRATION_DEPRECATED: 3 } as const;

/** DEVICE_GET_IRQ_INFO flags. */
export const IrqInfoFlags = { EVENTFD: 1 << 0, MASKABLE: 1 << 1, AUTOMASKED: 1 << 2, NORESIZE: 1 << 3 } as const;

/** DEVICE_SET_IRQS flags. */
export const IrqSetFlags = {
  DATA_NONE: 1 << 0,
  DATA_BOOL: 1 << 1,
  DATA_EVENTFD: 1 << 2,
  ACTION_MASK: 1 << 3,
  ACTION_UNMASK: 1 << 4,
  ACTION_TRIGGER: 1 << 5,
  DATA_TYPE_MASK: 0x07,
  ACTION_TYPE_MASK: 0x38,
} as const;

/** DMA_MAP flags. */
export const DmaMapFlags = { READ: 1 << 0, WRITE: 1 << 1, MODE_MMAP: 1 << 2, MODE_FILE_IO: 1 << 3 } as const;

/** DMA_UNMAP flags. */
export const DmaUnmapFlags = { GET_DIRTY_BITMAP: 1 << 0, ALL: 1 << 1 } as const;

/** DEVICE_FEATURE flags and feature indexes. */
export const DeviceFeature = {
  MASK: 0xffff,
  GET: 1 << 16,
  SET: 1 << 17,
  PROBE: 1 << 18,
  MIGRATION: 1,
  MIG_DEVICE_STATE: 2,
  DMA_LOGGING_START: 6,
  DMA_LOGGING_STOP: 7,
  DMA_LOGGING_REPORT: 8,
} as const;

/** Migration capability flags (feature MIGRATION). */
export const MigrationFlags = { STOP_COPY: 1 << 0, P2P: 1 << 1, PRE_COPY: 1 << 2 } as const;

/** Migration device states. */
export const DeviceState = {
  ERROR: 0,
  STOP: 1,
  RUNNING: 2,
  STOP_COPY: 3,
  RESUMING: 4,
  RUNNING_P2P: 5,
  PRE_COPY: 6,
  PRE_COPY_P2P: 7,
} as const;

const DEVICE_STATE_NAMES = ['ERROR', 'STOP', 'RUNNING', 'STOP_COPY', 'RESUMING', 'RUNNING_P2P', 'PRE_COPY', 'PRE_COPY_P2P'];

/** The name of a migration device state, or `state N` for a number that is none. */
export const deviceStateName = (state: number): string => DEVICE_STATE_NAMES[state] ?? `state ${state}`;

/** GET_REGION_IO_FDS entry types. */
export const IoFdType = { IOEVENTFD: 0, IOREGIONFD: 1, IOEVENTFD_SHADOW: 2 } as const;

/** KVM ioeventfd flags carried in IO_FDS entries. */
export const KvmIoeventfdFlags = { DATAMATCH: 1, PIO: 2, DEASSIGN: 4, VIRTIO_CCW_NOTIFY: 8 } as const;

/** Capability defaults when a peer omits a key (spec values). */
export const CapabilityDefaults = {
  max_msg_fds: 1,
  max_data_xfer_size: 1 << 20,
  max_dma_maps: 65535,
  pgsizes: 4096,
  write_multiple: false,
} as const;

/** REGION_WRITE_MULTI limits: entries per message (QEMU's VFIO_USER_MULTI_MAX) and bytes per entry. */
export const WRITE_MULTI_MAX = 200;
export const WRITE_MULTI_DATA_MAX = 8;
