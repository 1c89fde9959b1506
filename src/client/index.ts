/**
 * The vfio-user client: QEMU's vfio-user-pci device and its vfio-iommu-user container.
 *
 * Two layers. The Observable layer (`realize$`, `ClientDevice`) is the composition itself: every
 * method returns a cold Observable and nothing happens until it is subscribed. The Promise facade
 * (`openDevice`, `Device`) wraps it for `await` and `for await` and is the only place that turns
 * streams into Promises.
 */
export { migrateDevices, openDevice, promiseDevice, type Device, type Interrupt, type Region } from './facade.js';
export { migrate$, type MigrateOptions, type MigrationProgress } from './migrate.js';
export { realize$, realizeOn$ } from './realize.js';
export type { ClientDevice, ReconnectEvent } from './device.js';
export type { ClientRegion, WriteOptions } from './region-access.js';
export type { MappedArea } from './mmap-regions.js';
export type { InterruptSignal } from './interrupts.js';
export { irqIndex, irqTypeOf, type IrqType } from './irq-state.js';
export type { DmaCommit } from './container.js';
export { emptyMappingTable, mappingTableOf, type GuestMapping, type MappingTable } from './mapping-table.js';
export { answerDma, type DmaAnswer } from './dma-service.js';
export type { DeviceFeatures, LoggingRange, MigrationFeatures } from './migration.js';
export {
  DEFAULT_MAX_REQUEST_BODY,
  DEFAULT_WRITE_MULTI_THRESHOLD,
  type ClientOptions,
  type DmaMode,
  type ReconnectOptions,
} from './options.js';
export { MAX_IRQ_TYPES, MAX_REGIONS, MAX_REGION_INFO_ARGSZ } from './discover.js';
export { guestMemory, type GuestMemory, type MemoryChange, type MemorySection, type RamBlock, type SectionSpec } from '../streams/memory.js';
