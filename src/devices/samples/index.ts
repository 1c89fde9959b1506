/** Sample devices showing how devices are written with the server framework. */
import type { PciDevice } from '../server/index.js';
import { dmaEngineDevice } from './dma-engine.js';
import { gpioDevice } from './gpio.js';
import { ramDevice } from './ram.js';

export { gpioDevice, GpioReg, type GpioDevice } from './gpio.js';
export { dmaEngineDevice, DmaReg, DmaStatus, DMA_MAX_LENGTH } from './dma-engine.js';
export { ramDevice, RamReg, RAM_MAGIC } from './ram.js';

/** A sample device the CLI can serve by name. */
export interface SampleDevice {
  readonly description: string;
  /** Creates a fresh instance (each has its own state). */
  create(): PciDevice;
}

/** The sample devices by name. */
export const sampleDevices: Readonly<Record<string, SampleDevice>> = {
  gpio: { description: '16-line GPIO card in an I/O BAR, INTx on input change (after the ACCES PCI-IDIO-16)', create: gpioDevice },
  'dma-engine': { description: 'memory-to-memory DMA engine with MSI-X completion interrupts', create: dmaEngineDevice },
  ram: { description: 'memfd-backed RAM BAR with sparse mmap areas and a trapped register page', create: () => ramDevice() },
};
