/** The names and descriptions of the sample devices, without loading them (the CLI lists them in its help). */

/** What each sample device is, by the name the CLI serves it under. */
export const sampleDescriptions = {
  gpio: 'ACCES PCI-IDIO-16: 16 outputs, 16 inputs, INTx on input change (the card\'s own registers)',
  'dma-engine': 'memory-to-memory DMA engine with MSI-X completion interrupts',
  ram: 'memfd-backed RAM BAR with sparse mmap areas and a trapped register page',
  nvme: 'NVMe 1.4 controller with one namespace (a file with --backing, else memory) that Linux\'s nvme driver uses as a disk',
} as const;

/** The name of a sample device. */
export type SampleName = keyof typeof sampleDescriptions;

/** The sample names, in the order the help lists them. */
export const sampleNames = Object.keys(sampleDescriptions) as SampleName[];

/** What a sample can be made with: ids of your own instead of the defaults. */
export interface SampleOptions {
  readonly ids?: { readonly vendorId?: number; readonly deviceId?: number };
}

/**
 * The ids of the samples that imitate no real card. They are in the range QEMU's
 * docs/specs/pci-ids documents as available for experimental use without registration
 * (1af4:10f0 to 1af4:10ff, donated by Red Hat), which is what these devices are; a device that
 * leaves the test lab needs ids of its own (SampleOptions.ids, or `serve --vendor-id/--device-id`).
 * A guest's virtio_pci driver probes the 1af4 vendor and declines these device ids.
 */
export const EXPERIMENTAL_IDS = {
  'dma-engine': { vendorId: 0x1af4, deviceId: 0x10f0 },
  ram: { vendorId: 0x1af4, deviceId: 0x10f1 },
  nvme: { vendorId: 0x1af4, deviceId: 0x10f2 },
} as const;
