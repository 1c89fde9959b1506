/** The names and descriptions of the sample devices, without loading them (the CLI lists them in its help). */

/** What each sample device is, by the name the CLI serves it under. */
export const sampleDescriptions = {
  gpio: 'ACCES PCI-IDIO-16: 16 outputs, 16 inputs, INTx on input change (the card\'s own registers)',
  'dma-engine': 'memory-to-memory DMA engine with MSI-X completion interrupts',
  ram: 'memfd-backed RAM BAR with sparse mmap areas and a trapped register page',
} as const;

/** The name of a sample device. */
export type SampleName = keyof typeof sampleDescriptions;

/** The sample names, in the order the help lists them. */
export const sampleNames = Object.keys(sampleDescriptions) as SampleName[];
