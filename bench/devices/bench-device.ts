/**
 * The device the region, dma, maps and memory benchmarks drive, written with the server framework
 * as a device author would: BAR 0 is a 4 KiB memory BAR served by plain `{ read, write }`
 * functions (not mappable, so the client may post writes to it), BAR 4 holds an MSI-X table of
 * one vector.
 *
 * BAR 0 (little-endian):
 *
 * | offset | name       | access | meaning                                                        |
 * |--------|------------|--------|----------------------------------------------------------------|
 * | 0x000  | SCRATCH    | RW     | 256 bytes of plain memory (the trivial register file)          |
 * | 0x100  | DMA        | W      | a 24-byte DmaCommand: runs it; the write's reply waits for it  |
 * | 0x140  | DMA_MS     | RO     | f64: milliseconds the last DmaCommand took, timed in the device |
 * | 0x200  | IRQ        | W      | any write raises MSI-X vector 0                                 |
 * | 0x300  | MEMORY     | RO     | 48 bytes: after a full GC, process.memoryUsage() as 6 f64      |
 *
 * Device-side timing keeps the client's round trip out of the DMA figures; the MEMORY register
 * lets a client read the server process's heap without a side channel.
 */
import { EMPTY, Observable, defer, tap, type Subscription } from 'rxjs';
import { DeviceError, memoryBar, msix, msixBar, pciDevice, type DeviceContext, type PciDevice } from '../../src/server/index.js';
import { Errno } from '../../src/protocol/errno.js';

/** Register offsets of BAR 0. */
export const BenchReg = { SCRATCH: 0x000, DMA: 0x100, DMA_MS: 0x140, IRQ: 0x200, MEMORY: 0x300 } as const;

/** The BAR the registers live in. */
export const BENCH_BAR = 0;

/** What a DmaCommand does `reps` times in a row. */
export const DmaOp = {
  /** ctx.dma.readInto of `size` bytes at `iova` into the device's own buffer (as a DMA engine reuses its buffers). */
  READ: 1,
  /** ctx.dma.write of `size` bytes at `iova`. */
  WRITE: 2,
  /** `Buffer.copy` of `size` bytes between two buffers of the device process: the baseline. */
  COPY: 3,
} as const;

/** A DMA command as written to the DMA register. */
export interface DmaCommand {
  readonly op: (typeof DmaOp)[keyof typeof DmaOp];
  readonly reps: number;
  readonly size: number;
  readonly iova: number;
}

/** Largest `size` of a DmaCommand. */
export const MAX_DMA_SIZE = 1 << 20;
const COMMAND_SIZE = 24;
const SCRATCH_SIZE = 0x100;
const MEMORY_FIELDS = ['rss', 'heapTotal', 'heapUsed', 'external', 'arrayBuffers', 'gcRan'] as const;

/** The byte pattern DMA writes put in guest memory (so a client can check that they happened). */
export const dmaPattern = (size: number): Buffer => Buffer.from(Array.from({ length: size }, (_, i) => (i * 7 + 3) & 0xff));

/** Encodes a DmaCommand for the DMA register. */
export const encodeDmaCommand = (c: DmaCommand): Buffer => {
  const b = Buffer.alloc(COMMAND_SIZE);
  b.writeUInt32LE(c.op, 0);
  b.writeUInt32LE(c.reps, 4);
  b.writeUInt32LE(c.size, 8);
  b.writeBigUInt64LE(BigInt(c.iova), 16);
  return b;
};

const decodeDmaCommand = (b: Buffer): DmaCommand => {
  const op = b.readUInt32LE(0);
  if (op !== DmaOp.READ && op !== DmaOp.WRITE && op !== DmaOp.COPY) throw new DeviceError(Errno.EINVAL, `bad DMA op ${op}`);
  const size = b.readUInt32LE(8);
  if (size === 0 || size > MAX_DMA_SIZE) throw new DeviceError(Errno.EINVAL, `bad DMA size ${size}`);
  return { op, reps: b.readUInt32LE(4), size, iova: Number(b.readBigUInt64LE(16)) };
};

/** Memory of a process after a full GC (bytes), as read from the MEMORY register. */
export type MemorySnapshot = Readonly<Record<(typeof MEMORY_FIELDS)[number], number>>;

/** Decodes the MEMORY register. */
export const decodeMemory = (b: Buffer): MemorySnapshot =>
  Object.fromEntries(MEMORY_FIELDS.map((k, i) => [k, b.readDoubleLE(i * 8)])) as MemorySnapshot;

/** Bytes of the MEMORY register. */
export const MEMORY_SIZE = MEMORY_FIELDS.length * 8;

/** This process's memory after a full GC when node runs with --expose-gc (gcRan says whether it did). */
export const memorySnapshot = (): MemorySnapshot => {
  const gc = (globalThis as { gc?: () => void }).gc;
  // Two passes: the first may only queue finalizers whose memory the second frees.
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, gcRan: gc ? 1 : 0 };
};

const encodeMemory = (m: MemorySnapshot): Buffer => {
  const b = Buffer.alloc(MEMORY_SIZE);
  MEMORY_FIELDS.forEach((k, i) => b.writeDoubleLE(m[k], i * 8));
  return b;
};

/**
 * Runs `op` `reps` times, each one subscribed once the previous has completed, and emits the
 * milliseconds it took. Synchronous completions (the mapped path) are looped, not recursed into,
 * so the figure is the operation's cost and not a scheduler's; one observer serves every
 * operation, so the loop itself creates no functions per operation.
 */
const timed = (reps: number, op: () => Observable<unknown>): Observable<number> =>
  new Observable<number>((subscriber) => {
    const t0 = performance.now();
    let done = 0;
    let looping = false;
    let finished = false;
    let current: Subscription | undefined;
    const observer = {
      error: (err: unknown) => subscriber.error(err),
      complete: () => {
        finished = true;
        done++;
        if (!looping) run();
      },
    };
    const run = (): void => {
      while (done < reps) {
        finished = false;
        looping = true;
        current = op().subscribe(observer);
        looping = false;
        if (!finished) return;
      }
      subscriber.next(performance.now() - t0);
      subscriber.complete();
    };
    run();
    return () => current?.unsubscribe();
  });

/** The baseline: a bare loop of Buffer.copy, no Observable around it. */
const copyLoop = (from: Buffer, to: Buffer, reps: number, size: number): number => {
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) from.copy(to, 0, 0, size);
  return performance.now() - t0;
};

/** Creates the benchmark device (each instance has its own registers). */
export const benchDevice = (): PciDevice => {
  const scratch = Buffer.alloc(SCRATCH_SIZE);
  const source = dmaPattern(MAX_DMA_SIZE);
  const sink = Buffer.alloc(MAX_DMA_SIZE);
  let lastMs = 0;

  const runDma = (c: DmaCommand, ctx: DeviceContext): Observable<unknown> => {
    if (c.op === DmaOp.COPY) {
      lastMs = copyLoop(source, sink, c.reps, c.size);
      return EMPTY;
    }
    const data = source.subarray(0, c.size);
    const into = sink.subarray(0, c.size);
    const op = c.op === DmaOp.READ ? () => ctx.dma.readInto(c.iova, into) : () => ctx.dma.write(c.iova, data);
    return timed(c.reps, op).pipe(tap((ms) => (lastMs = ms)));
  };

  const read = (offset: number, count: number): Buffer => {
    const out = Buffer.alloc(count);
    if (offset + count <= SCRATCH_SIZE) scratch.copy(out, 0, offset, offset + count);
    else if (offset === BenchReg.DMA_MS && count === 8) out.writeDoubleLE(lastMs);
    else if (offset === BenchReg.MEMORY && count === MEMORY_SIZE) encodeMemory(memorySnapshot()).copy(out);
    return out;
  };

  const write = (offset: number, data: Buffer, ctx: DeviceContext): Observable<unknown> | void => {
    if (offset + data.length <= SCRATCH_SIZE) data.copy(scratch, offset);
    else if (offset === BenchReg.DMA && data.length === COMMAND_SIZE) return defer(() => runDma(decodeDmaCommand(data), ctx));
    else if (offset === BenchReg.IRQ) ctx.trigger('msix', 0);
  };

  return pciDevice({
    name: 'bench',
    ids: { vendorId: 0x1af4, deviceId: 0x10fe, classCode: 0xff0000 },
    bars: { 0: memoryBar(4096, { read, write }), 4: msixBar(1) },
    capabilities: [msix(1, 4)],
  });
};
