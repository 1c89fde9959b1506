import { of, type Observable, type Subscription } from 'rxjs';
import type { Channel } from '../native/types.js';
import { connection, DEFAULT_MAX_FRAME_SIZE } from '../wire/connection.js';
import { endpoint, type Endpoint } from '../wire/endpoint.js';
import type { Wire } from './call.js';
import { container as createContainer, type Container } from './container.js';
import { serveDma } from './dma-service.js';
import { emptyMappingTable, type MappingTable } from './mapping-table.js';
import type { ClientDirtyLog } from './migration.js';
import type { Negotiated } from './negotiate.js';
import type { DmaMode, ResolvedOptions } from './options.js';

/** What the DMA side of a device is made of once VERSION is done. */
export interface Dma {
  readonly dmaMode: DmaMode;
  /** The container, when guest memory was given. */
  readonly container: Container | undefined;
  /** The mappings the server's DMA requests are answered from. */
  readonly table$: Observable<MappingTable>;
  /** Where the pages written by the server's DMA_WRITE messages are logged, while logging is on. */
  readonly dirty: ClientDirtyLog;
}

/** Largest incoming frame: the default, or our max_data_xfer_size plus room for the fixed part. */
export const frameLimit = (o: ResolvedOptions): number => Math.max(DEFAULT_MAX_FRAME_SIZE, o.maxDataXferSize + 4096);

/** The endpoint for the server's twin socket, when it enabled one; its teardown goes to `scope`. */
export const openTwin = (fd: number, o: ResolvedOptions, scope: Subscription): Endpoint => {
  const closeFd = (x: number) => o.native.close(x);
  let channel: Channel;
  try {
    channel = o.native.channelFromFd(fd);
  } catch (err) {
    // A failed wrap leaves the fd with us.
    closeFd(fd);
    throw err;
  }
  const conn = connection(channel, { closeFd, maxFrameSize: frameLimit(o) });
  const ep = endpoint(conn, { timeoutMs: o.timeoutMs, closeFd, ...(o.scheduler ? { scheduler: o.scheduler } : {}) });
  if (o.onTrace) scope.add(ep.trace$.subscribe(o.onTrace));
  scope.add(() => ep.close());
  return ep;
};

/** The guest memory container (made once per device: it outlives reconnects) and the DMA answering state. */
export const attachDma = (wire: Wire, neg: Negotiated, o: ResolvedOptions, scope: Subscription): Dma => {
  const dmaMode = o.dmaMode === 'fd' && neg.caps.max_msg_fds >= 1 ? ('fd' as const) : ('message' as const);
  const limits = { maxDmaMaps: neg.caps.max_dma_maps, pgsizes: neg.caps.pgsizes };
  const dma: Container | undefined = o.memory ? createContainer(wire, o.memory.changes$, { limits, mode: dmaMode }) : undefined;
  if (dma) scope.add(() => dma.stop());
  return { dmaMode, container: dma, table$: dma?.table$ ?? of(emptyMappingTable), dirty: { log: undefined } };
};

/** Answers the server's DMA requests arriving on `endpoints` (one connection's: main and twin). */
export const answerDmaOn = (endpoints: readonly Endpoint[], dma: Dma, o: ResolvedOptions): Subscription => {
  const written = (address: number, count: number) => dma.dirty.log?.mark(address, count);
  return serveDma(endpoints, dma.table$, { maxDataXferSize: o.maxDataXferSize, closeFd: (fd) => o.native.close(fd), written });
};
