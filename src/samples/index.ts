/** Sample devices showing how devices are written with the server framework. */
import type { PciDevice } from '../server/index.js';
import { dmaEngineDevice } from './dma-engine.js';
import { gpioDevice } from './gpio.js';
import { ramDevice } from './ram.js';
import { nvmeDevice } from './nvme/index.js';
import { sampleDescriptions, type SampleName, type SampleOptions } from './catalog.js';
import type { NvmeOptions } from './nvme/index.js';

export { gpioDevice, GpioReg, GpioStatus, type GpioDevice } from './gpio.js';
export { dmaEngineDevice, DmaReg, DmaStatus, DMA_MAX_LENGTH } from './dma-engine.js';
export { ramDevice, RamReg, RAM_MAGIC } from './ram.js';
export * as nvme from './nvme/index.js';
export { nvmeDevice, NVME_CLASS_CODE, DEFAULT_NVME_SIZE, type NvmeDevice, type NvmeOptions } from './nvme/index.js';
export { EXPERIMENTAL_IDS, sampleDescriptions, sampleNames, type SampleName, type SampleOptions } from './catalog.js';

/** A sample device the CLI can serve by name. */
export interface SampleDevice {
  readonly description: string;
  /** Creates a fresh instance (each has its own state), with ids of your own if given. */
  create(options?: SampleOptions & NvmeOptions): PciDevice;
}

/** The sample devices by name. */
export const sampleDevices: Readonly<Record<SampleName, SampleDevice>> = {
  gpio: { description: sampleDescriptions.gpio, create: gpioDevice },
  'dma-engine': { description: sampleDescriptions['dma-engine'], create: dmaEngineDevice },
  ram: { description: sampleDescriptions.ram, create: (options) => ramDevice(undefined, options) },
  nvme: { description: sampleDescriptions.nvme, create: (options) => nvmeDevice(options) },
};
