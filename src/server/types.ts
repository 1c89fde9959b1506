/** The shapes a device author works with: region accesses, handlers, the device context. */
import type { Observable, Subscription } from 'rxjs';
import type { ConfigEffect, ConfigSpace } from '../pci/index.js';

/** The interrupt types of a PCI device, named after VFIO's IRQ indexes 0..4. */
export type IrqType = 'intx' | 'msi' | 'msix' | 'err' | 'req';

/** A read of `count` bytes at `offset` of a region (offsets are relative to the region). */
export interface ReadAccess {
  readonly kind: 'read';
  readonly region: number;
  readonly offset: number;
  readonly count: number;
}

/** A write of `data` at `offset` of a region. */
export interface WriteAccess {
  readonly kind: 'write';
  readonly region: number;
  readonly offset: number;
  readonly data: Buffer;
}

/** One access to a region, as a handler sees it; bounds are checked before it gets there. */
export type RegionAccess = ReadAccess | WriteAccess;

/**
 * The answer to one access, carrying the access it answers (matched by identity): `data` of
 * exactly `count` bytes for a read, nothing for a write, or `error` (an `errno` property is
 * used as the reply's errno, anything else answers EIO).
 */
export interface AccessResult {
  readonly access: RegionAccess;
  readonly data?: Buffer;
  readonly error?: unknown;
}

/** A region handler as plain functions; a missing `read` reads zeros, a missing `write` ignores writes. */
export interface RegionFunctions {
  read?(offset: number, count: number, ctx: DeviceContext): Buffer | Observable<Buffer>;
  write?(offset: number, data: Buffer, ctx: DeviceContext): void | Observable<unknown>;
}

/**
 * A region handler as an operator over the region's access stream, subscribed once for the
 * device's lifetime (so a `scan` inside it keeps register state across clients). It must emit
 * one AccessResult per access, in any order. An access is pushed into it with one `next`; a result
 * emitted during that push is answered once the push returns (no stream is built for it), so what
 * the operator does synchronously in the same push (DMA requests by message, say) goes out before
 * the reply, as a libvfio-user callback runs to completion before its reply. A result emitted
 * later is answered then; the fold serves no other command meanwhile.
 */
export type RegionOperator = (access$: Observable<RegionAccess>, ctx: DeviceContext) => Observable<AccessResult>;

/** Either form of region handler. */
export type RegionHandler = RegionFunctions | RegionOperator;

/** A guest memory range the client made known with DMA_MAP, as device code sees it. */
export interface DmaRange {
  readonly iova: number;
  readonly size: number;
  readonly readable: boolean;
  readonly writable: boolean;
  /** True when the client sent an fd (the server reads and writes it directly); false: by message. */
  readonly mapped: boolean;
}

/** Guest memory by IOVA: through the mapping when it has an fd, by DMA_READ/DMA_WRITE otherwise. */
export interface GuestMemory {
  /** Reads `length` bytes at `iova`; errors with DmaError when any byte is unmapped or not readable. */
  read(iova: number, length: number): Observable<Buffer>;
  /**
   * Reads `target.length` bytes at `iova` into `target` (no allocation: for a device that reuses
   * its buffers, as a DMA engine does); same errors as read. Completes once every byte is there.
   */
  readInto(iova: number, target: Buffer): Observable<void>;
  /** Writes `data` at `iova`; errors with DmaError when any byte is unmapped or not writable. */
  write(iova: number, data: Buffer): Observable<void>;
  /**
   * The same accesses, always by DMA_READ/DMA_WRITE messages, even where the client sent an fd:
   * what libvfio-user's vfu_sgl_read/vfu_sgl_write do, for a device whose client expects its DMA
   * as messages (the client then logs the pages written, not the server). Same checks and errors.
   */
  readonly byMessage: Omit<GuestMemory, 'byMessage'>;
}

/** Why the device is being reset. */
export type ResetReason = 'reset' | 'flr' | 'disconnect';

/** What device code (handlers, behaviour, reset hook) can do and observe. */
export interface DeviceContext {
  /** Raises interrupt `vector` of `type`: signals its eventfd, or sets it pending while masked. */
  trigger(type: IrqType, vector?: number): void;
  /** Guest memory of the connected client. */
  readonly dma: GuestMemory;
  /** The client's DMA ranges (empty while no client is connected); replays the current table. */
  readonly mappings$: Observable<readonly DmaRange[]>;
  /** Whether a client is connected; replays the current value. */
  readonly connected$: Observable<boolean>;
  /** The config space after every change; replays the current one. */
  readonly config$: Observable<ConfigSpace>;
  /** What each guest config write changed (command register, BARs, MSI/MSI-X control...). */
  readonly configEffects$: Observable<ConfigEffect>;
  /** Resets as they happen (DEVICE_RESET, FLR, client disconnect), before the hook runs. */
  readonly reset$: Observable<ResetReason>;
  /** The memory behind a RAM-backed region (shared with clients that mmap it). */
  ram(region: number): Buffer;
}

/** Device code that runs for the device's lifetime (timers, input sources...). */
export type Behaviour = (ctx: DeviceContext) => Observable<unknown> | Subscription | void;

/** The phase a device saves its state in: while it runs (PRE_COPY), or stopped (STOP_COPY). */
export type MigrationPhase = 'pre-copy' | 'stop-copy';

/**
 * How a device takes part in live migration. Every hook is optional: a device without state of its
 * own migrates with the framework's state alone (config space, MSI-X table, RAM-backed regions).
 */
export interface MigrationHooks {
  /** The device can stream state while it runs (PRE_COPY is offered); default false. */
  readonly preCopy?: boolean;
  /**
   * The data stream is the device's alone: no framework records (config space, MSI-X table, RAM
   * regions) around it, for a device whose stream must match another implementation byte for byte.
   */
  readonly raw?: boolean;
  /**
   * The device's state as a stream of chunks: in 'pre-copy' while it runs (may be called again
   * after it ended, for a later round), then in 'stop-copy' once stopped. The destination's `load`
   * gets every chunk of both phases, concatenated.
   */
  save?(phase: MigrationPhase, ctx: DeviceContext): Observable<Buffer> | Buffer | void;
  /** Restores the device from the data `save` produced; throw (or error) to refuse it (the SET fails with EINVAL). */
  load?(data: Buffer, ctx: DeviceContext): void | Observable<unknown>;
  /** The device stops (RUNNING to STOP, PRE_COPY to STOP_COPY): no DMA or interrupts until `resume`. */
  quiesce?(ctx: DeviceContext): void | Observable<unknown>;
  /** The device runs again (STOP to RUNNING). */
  resume?(ctx: DeviceContext): void | Observable<unknown>;
}

/** A reset hook; the reply to DEVICE_RESET waits for the returned observable to complete. */
export type ResetHook = (reason: ResetReason, ctx: DeviceContext) => void | Observable<unknown>;
