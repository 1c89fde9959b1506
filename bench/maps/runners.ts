/**
 * The measured runs of the maps benchmark. Each run maps `count` small sections of guest memory
 * and unmaps them again, the client's container turning the memory changes into DMA_MAP and
 * DMA_UNMAP; the baseline is `count` bare round trips on the same connection.
 */
import { guestMemory, type Device, type MemorySection } from '../../src/client/index.js';
import { openBenchClient, type BenchClient, type DmaModeName } from '../lib/client.js';
import type { Runner } from '../lib/interleave.js';
import type { ServerProcess } from '../lib/vfu-server.js';

/** One run: milliseconds of its map half and of its unmap half (only `mapMs` for a run that is not split). */
export interface MapsRun {
  readonly mapMs: number;
  readonly unmapMs: number;
}

/** Size and spacing of the sections: one page each, one after the other. */
export const SECTION_SIZE = 4096;
const BASE_IOVA = 0x1_0000_0000;

/** A client whose guest memory starts empty, opened on a server. */
export type MapsClient = BenchClient;

/**
 * Opens a client in `mode` ('message': no fds at all, as the dma benchmark's message mode).
 * `timeoutMs` is the reply timeout: a transaction has all its requests in flight at once, so the
 * last reply comes only after the server has run every one before it.
 */
export const openMapsClient = (server: ServerProcess, mode: DmaModeName, timeoutMs: number): Promise<MapsClient> =>
  openBenchClient(server, mode, { timeoutMs });

const spec = (i: number) => ({ iova: BASE_IOVA + i * SECTION_SIZE, size: SECTION_SIZE });

/** Waits for the latest memory transaction's DMA_MAP/DMA_UNMAP replies; throws if any failed. */
const settled = async (dev: Device): Promise<void> => {
  await dev.dmaSettled();
};

const since = (t0: number) => performance.now() - t0;

/** Every section added in one transaction, then every one removed in another. */
export const transactionRunner = (key: string, c: MapsClient, count: number): Runner<MapsRun> => ({
  key,
  batch: async () => {
    let sections: MemorySection[] = [];
    const t0 = performance.now();
    c.memory.transaction(() => {
      sections = Array.from({ length: count }, (_, i) => c.memory.add(spec(i)));
    });
    await settled(c.dev);
    const mapMs = since(t0);
    const t1 = performance.now();
    c.memory.transaction(() => sections.forEach((s) => c.memory.remove(s)));
    await settled(c.dev);
    return { mapMs, unmapMs: since(t1) };
  },
});

/** Every section added and committed one at a time, then removed one at a time. */
export const oneByOneRunner = (key: string, c: MapsClient, count: number): Runner<MapsRun> => ({
  key,
  batch: async () => {
    const sections: MemorySection[] = [];
    const t0 = performance.now();
    for (let i = 0; i < count; i++) {
      sections.push(c.memory.add(spec(i)));
      await settled(c.dev);
    }
    const mapMs = since(t0);
    const t1 = performance.now();
    for (const s of sections) {
      c.memory.remove(s);
      await settled(c.dev);
    }
    return { mapMs, unmapMs: since(t1) };
  },
});

/** The baseline: `count` DEVICE_GET_INFO round trips, each awaited. */
export const roundTripRunner = (key: string, dev: Device, count: number): Runner<MapsRun> => ({
  key,
  batch: async () => {
    const t0 = performance.now();
    for (let i = 0; i < count; i++) await dev.fence();
    return { mapMs: since(t0), unmapMs: 0 };
  },
});

/** The client's own share: the same sections added and removed in a guest memory nobody listens to. */
export const memoryOnlyRunner = (key: string, count: number): Runner<MapsRun> => ({
  key,
  batch: async () => {
    const memory = guestMemory();
    let sections: MemorySection[] = [];
    const t0 = performance.now();
    memory.transaction(() => {
      sections = Array.from({ length: count }, (_, i) => memory.add(spec(i)));
    });
    const mapMs = since(t0);
    const t1 = performance.now();
    memory.transaction(() => sections.forEach((s) => memory.remove(s)));
    const unmapMs = since(t1);
    memory.close();
    return { mapMs, unmapMs };
  },
});

/** How the cost of one committed DMA_MAP grows with the table: the first and the last thousand of `count`. */
export interface GrowthRun {
  readonly count: number;
  readonly firstMsPerMap: number;
  readonly lastMsPerMap: number;
}

/**
 * Maps `count` sections one at a time (each committed and answered before the next), timing the
 * first and the last thousand, then removes them all in one transaction. The sections are slices
 * of one RAM block (one memfd, one mapping in the client), so the count is not bounded by fds.
 */
export const growthRun = async (c: MapsClient, count: number): Promise<GrowthRun> => {
  const window = Math.min(1000, Math.floor(count / 2));
  const block = c.memory.block(count * SECTION_SIZE, 'growth');
  const sliceOf = (i: number) => ({ ...spec(i), block, blockOffset: i * SECTION_SIZE });
  const sections: MemorySection[] = [];
  let first = 0;
  let last = 0;
  let t0 = performance.now();
  for (let i = 0; i < count; i++) {
    if (i === count - window) t0 = performance.now();
    sections.push(c.memory.add(sliceOf(i)));
    await settled(c.dev);
    if (i === window - 1) first = since(t0);
  }
  last = since(t0);
  c.memory.transaction(() => sections.forEach((s) => c.memory.remove(s)));
  await settled(c.dev);
  return { count, firstMsPerMap: first / window, lastMsPerMap: last / window };
};
