/// <reference types="node" preserve="true" />
/**
 * vfio-user-rx: the public API. Each layer is a namespace (`client`, `server`, `samples`, `pci`,
 * `protocol`, `wire`, `operators`, `tap`, `capture`, `metrics`); the names most programs start from are also exported at the top.
 */
export * as client from './client/index.js';
export * as server from './server/index.js';
export * as samples from './samples/index.js';
export * as pci from './pci/index.js';
export * as protocol from './protocol/index.js';
export * as wire from './wire/index.js';
export * as operators from './operators/index.js';
export * as tap from './tap/index.js';
export * as capture from './capture/index.js';
export * as metrics from './metrics/index.js';

export { openDevice, realize$, guestMemory, type Device, type ClientDevice, type ClientOptions } from './client/index.js';
export {
  pciDevice,
  ioBar,
  memoryBar,
  ramBar,
  msixBar,
  msix,
  msi,
  pcie,
  pm,
  serve,
  serveUntilSignal,
  testBed,
  accessFold,
  registerFile,
  ring,
  consume,
  produce,
  phaseTag,
  type PciDevice,
  type DeviceContext,
  type RegionOperator,
  type RegionFunctions,
  type AccessResult,
} from './server/index.js';
export * from './protocol/errors.js';
export { formatTrace, type TraceEvent } from './wire/trace.js';
export { tap$, relay$, type TapEvent, type TapMessage, type TapClosed, type TapTarget, type TapOptions } from './tap/index.js';
export { captureTo, captureWriter, capturedMessages, readPcapng, LINKTYPE_VFIO_USER } from './capture/index.js';
export { metricUpdates, metricsSnapshots, prometheusMetrics, metricsEndpoint$, type MetricUpdate, type MetricsSnapshot } from './metrics/index.js';
