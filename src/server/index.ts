/**
 * The server framework: define a PCI device (config space, capabilities, BARs served by handlers
 * or memory, interrupts, DMA), serve it on a UNIX socket, and test it without one.
 */
export { pciDevice, type PciDevice, type RegionEntry, type RegionBacking, type RegionOverlay } from './device.js';
export {
  ioBar,
  memoryBar,
  ramBar,
  msix,
  msixBar,
  type BarDefinition,
  type BarIndex,
  type DeviceRegionDefinition,
  type PciDeviceOptions,
  type RamOptions,
} from './definition.js';
export { msi, pcie, pm, serialNumber, vendorCapability, vendorExtCapability } from './capabilities.js';
export type {
  AccessResult,
  Behaviour,
  DeviceContext,
  DmaRange,
  GuestMemory,
  IrqType,
  MigrationHooks,
  MigrationPhase,
  ReadAccess,
  RegionAccess,
  RegionFunctions,
  RegionHandler,
  RegionOperator,
  ResetHook,
  ResetReason,
  WriteAccess,
} from './types.js';
export { fromFunctions } from './handlers.js';
export { accessFold, type AccessFoldSpec, type Folded } from './access-fold.js';
export { consume, entryAddress, phaseTag, produce, ring, ringCount, ringFull, ringHead, ringTail, type Ring, type RingLayout } from './rings.js';
export { registerFile, type RegisterChange, type RegisterFile, type RegisterSpec, type RegisterValues } from './register-file.js';
export { migrationPath, migStateName, type MigrationDeviceState } from './migration.js';
export { DeviceError, DmaError } from './errors.js';
export { serve, serveUntilSignal, signal$, type ServeOptions, type ServeTarget } from './serve.js';
export type { ServerActivity } from './runtime.js';
export { runDevice, type RunOptions as RunDeviceOptions, type ServerEvent, type WhenBusy } from './run.js';
export { defaultLimits, type ServerLimits } from './state.js';
export { nativeIo, type MappedMemory, type ServerIo } from './io.js';
export { SocketInUseError, listen$ } from '../streams/listen.js';
export * from './testing/index.js';
