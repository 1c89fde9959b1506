/**
 * A memory-to-memory DMA engine: the driver programs source, destination and length, rings the
 * doorbell, and the engine copies through guest memory (mapped or by DMA_READ/DMA_WRITE
 * messages) and raises an interrupt when done: MSI-X when the driver enabled it, INTx otherwise.
 *
 * BAR 0 (memory, 4 KiB): registers, 32-bit little-endian:
 *
 * | offset | name        | access | meaning                                                    |
 * |--------|-------------|--------|------------------------------------------------------------|
 * | 0x00   | SRC_LO      | RW     | source IOVA, bits 31..0                                    |
 * | 0x04   | SRC_HI      | RW     | source IOVA, bits 63..32                                   |
 * | 0x08   | DST_LO      | RW     | destination IOVA, bits 31..0                               |
 * | 0x0c   | DST_HI      | RW     | destination IOVA, bits 63..32                              |
 * | 0x10   | LEN         | RW     | bytes to copy (at most 1 MiB)                              |
 * | 0x14   | DOORBELL    | W      | write 1 to start a copy (ignored while BUSY); reads 0      |
 * | 0x18   | STATUS      | RO/W1C | bit 0 BUSY; bit 1 DONE and bit 2 ERROR (write 1 to clear)  |
 * | 0x1c   | ERRNO       | RO     | errno of the last failed copy (EFAULT unmapped, EPERM...)  |
 * | 0x20   | COMPLETED   | RO     | copies completed since reset                               |
 * | 0x24   | VECTOR      | RW     | MSI-X vector raised on completion (0..1)                   |
 *
 * BAR 4: the MSI-X table (2 vectors) and PBA, emulated by the server.
 */
import { BehaviorSubject, type Observable, Subject, filter, first, map, merge, mergeMap, tap, concatMap, catchError, of, withLatestFrom, ignoreElements } from 'rxjs';
import { Errno } from '../protocol/errno.js';
import { msixState } from '../pci/index.js';
import { accessFold, memoryBar, msix, msixBar, pciDevice, pcie, pm, registerFile, type DeviceContext, type Folded, type PciDevice, type RegionAccess, type RegisterValues } from '../server/index.js';
import { EXPERIMENTAL_IDS, type SampleOptions } from './catalog.js';

/** Register offsets of the DMA engine. */
export const DmaReg = {
  SRC_LO: 0x00,
  SRC_HI: 0x04,
  DST_LO: 0x08,
  DST_HI: 0x0c,
  LEN: 0x10,
  DOORBELL: 0x14,
  STATUS: 0x18,
  ERRNO: 0x1c,
  COMPLETED: 0x20,
  VECTOR: 0x24,
} as const;

/** STATUS bits. */
export const DmaStatus = { BUSY: 1, DONE: 2, ERROR: 4 } as const;

/** Largest copy the engine accepts. */
export const DMA_MAX_LENGTH = 1 << 20;
const VECTORS = 2;

/** The register file: its rules (read-only, write-only doorbell, write-1-to-clear status) declared once. */
const registers32 = registerFile([
  { name: 'SRC_LO', offset: DmaReg.SRC_LO, width: 4 },
  { name: 'SRC_HI', offset: DmaReg.SRC_HI, width: 4 },
  { name: 'DST_LO', offset: DmaReg.DST_LO, width: 4 },
  { name: 'DST_HI', offset: DmaReg.DST_HI, width: 4 },
  { name: 'LEN', offset: DmaReg.LEN, width: 4 },
  { name: 'DOORBELL', offset: DmaReg.DOORBELL, width: 4, writeOnly: true },
  { name: 'STATUS', offset: DmaReg.STATUS, width: 4, writable: 0, rw1c: DmaStatus.DONE | DmaStatus.ERROR },
  { name: 'ERRNO', offset: DmaReg.ERRNO, width: 4, writable: 0 },
  { name: 'COMPLETED', offset: DmaReg.COMPLETED, width: 4, writable: 0 },
  { name: 'VECTOR', offset: DmaReg.VECTOR, width: 4 },
] as const);
type Regs = RegisterValues<keyof typeof DmaReg>;
const REGS = registers32.size;

interface Job {
  readonly src: number;
  readonly dst: number;
  readonly length: number;
  /** Which reset epoch started it: a copy that outlives a reset must not touch the new registers. */
  readonly epoch: number;
}

/** What besides accesses and resets moves the engine: the end of a copy, and a migrated state. */
type EngineEvent = { readonly kind: 'done'; readonly job: Job; readonly errno: number } | { readonly kind: 'load'; readonly regs: Regs };

interface EngineState {
  readonly regs: Regs;
  readonly epoch: number;
  /** A copy to start. */
  readonly start?: Job;
  /** The vector to raise. */
  readonly irq?: number;
}

const u64 = (lo: number, hi: number): number => hi * 2 ** 32 + lo;
const busy = (regs: Regs): boolean => (regs.STATUS & DmaStatus.BUSY) !== 0;

const onWrite = (s: EngineState, a: RegionAccess & { kind: 'write' }): Folded<EngineState> => {
  const { values, changes } = registers32.write(s.regs, a.offset, a.data);
  const rang = changes.some((c) => c.name === 'DOORBELL' && (c.written & 1) === 1);
  if (!rang || busy(s.regs)) return { state: { regs: values, epoch: s.epoch }, result: { access: a } };
  const regs = registers32.set(values, { STATUS: values.STATUS | DmaStatus.BUSY });
  const start = { src: u64(regs.SRC_LO, regs.SRC_HI), dst: u64(regs.DST_LO, regs.DST_HI), length: regs.LEN, epoch: s.epoch };
  return { state: { regs, epoch: s.epoch, start }, result: { access: a } };
};

const onDone = (s: EngineState, job: Job, errno: number): EngineState => {
  if (job.epoch !== s.epoch) return { regs: s.regs, epoch: s.epoch };
  const r = s.regs;
  const STATUS = (r.STATUS & ~DmaStatus.BUSY) | (errno === 0 ? DmaStatus.DONE : DmaStatus.ERROR);
  const regs = registers32.set(r, errno === 0 ? { STATUS, COMPLETED: (r.COMPLETED + 1) >>> 0 } : { STATUS, ERRNO: errno });
  return { regs, epoch: s.epoch, irq: regs.VECTOR % VECTORS };
};

/** Copies through guest memory; completes with the errno (0 on success). */
const copy = (ctx: DeviceContext, job: Job): Observable<number> => {
  if (job.length > DMA_MAX_LENGTH) return of(Errno.EINVAL);
  return ctx.dma.read(job.src, job.length).pipe(
    concatMap((data) => ctx.dma.write(job.dst, data)),
    map(() => 0),
    catchError((err: unknown) => of((err as { errno?: number }).errno ?? Errno.EIO)),
  );
};

/** The engine's latest registers and busy state, and a way to load registers (for migration). */
interface Snapshot {
  regs: Regs;
  readonly idle$: Subject<boolean>;
  readonly loads: Subject<Regs>;
}

/** BAR 0's handler: register state, the copies it starts, and the interrupts they end with. */
const registers = (snapshot: Snapshot) =>
  accessFold<EngineState, EngineEvent>({
    seed: () => ({ regs: registers32.initial(), epoch: 0 }),
    access: (s, a) =>
      a.kind === 'write' ? onWrite(s, a) : { state: { regs: s.regs, epoch: s.epoch }, result: { access: a, data: registers32.read(s.regs, a.offset, a.count) } },
    reset: (s) => ({ regs: registers32.initial(), epoch: s.epoch + 1 }),
    // A migrated state (saved idle: the engine quiesces by finishing its copy) starts a new epoch.
    event: (s, e) => (e.kind === 'done' ? onDone(s, e.job, e.errno) : { regs: e.regs, epoch: s.epoch + 1 }),
    events: (state$, ctx) =>
      merge(
        // The copies the doorbell starts, one after the other, each ending in a completion.
        state$.pipe(
          mergeMap((s) => (s.start ? [s.start] : [])),
          concatMap((job) => copy(ctx, job).pipe(map((errno): EngineEvent => ({ kind: 'done', job, errno })))),
        ),
        snapshot.loads.pipe(map((regs): EngineEvent => ({ kind: 'load', regs }))),
        // The completion's interrupt: MSI-X when the driver enabled it, INTx otherwise.
        state$.pipe(
          filter((s) => s.irq !== undefined),
          withLatestFrom(ctx.config$),
          tap(([s, config]) => (msixState(config)?.enabled ? ctx.trigger('msix', s.irq) : ctx.trigger('intx'))),
          ignoreElements(),
        ),
      ),
    effects: (s) => {
      snapshot.regs = s.regs;
      snapshot.idle$.next(!busy(s.regs));
    },
  });

/** Creates a DMA engine (ids: see EXPERIMENTAL_IDS, or your own). */
export const dmaEngineDevice = (options: SampleOptions = {}): PciDevice => {
  const ids = { ...EXPERIMENTAL_IDS['dma-engine'], ...options.ids };
  const snapshot: Snapshot = { regs: registers32.initial(), idle$: new BehaviorSubject(true), loads: new Subject<Regs>() };
  return pciDevice({
    name: 'dma-engine',
    ids: { ...ids, subsystemVendorId: ids.vendorId, subsystemId: ids.deviceId, classCode: 0x088000 },
    interruptPin: 1,
    bars: { 0: memoryBar(4096, registers(snapshot)), 4: msixBar(VECTORS) },
    capabilities: [pm(), msix(VECTORS, 4), pcie()],
    // Its state is the register file. It offers PRE_COPY (it keeps copying while the client moves
    // guest memory) with nothing to send ahead: 40 bytes go at stop-and-copy. It stops by finishing
    // the copy in flight (no DMA once stopped), so the state saved is never BUSY.
    migration: {
      preCopy: true,
      quiesce: () => snapshot.idle$.pipe(first((idle) => idle)),
      save: (phase) => (phase === 'stop-copy' ? registers32.image(snapshot.regs) : undefined),
      load: (data) => {
        if (data.length !== REGS) throw new Error(`dma-engine state is ${REGS} bytes, got ${data.length}`);
        const regs = registers32.fromImage(data);
        if (busy(regs)) throw new Error('dma-engine state saved while BUSY');
        snapshot.loads.next(regs);
      },
    },
  });
};
