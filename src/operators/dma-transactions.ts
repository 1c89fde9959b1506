import { defer, filter, map, scan, type OperatorFunction } from 'rxjs';
import { LimitError } from '../protocol/errors.js';
import type { MemoryChange, MemorySection } from '../streams/memory.js';

/** Server limits a container honours before sending anything. */
export interface DmaLimits {
  /** Most mappings valid at once (the server's max_dma_maps). */
  readonly maxDmaMaps: number;
  /** OR of the page sizes DMA_MAP supports (the server's pgsizes); the smallest sets the alignment. */
  readonly pgsizes: number;
}

/** One DMA_MAP or DMA_UNMAP to send, or an add refused locally (never sent). */
export type DmaOp =
  | { readonly kind: 'map'; readonly section: MemorySection }
  | { readonly kind: 'unmap'; readonly section: MemorySection }
  | { readonly kind: 'rejected'; readonly section: MemorySection; readonly error: LimitError };

/** The operations of one memory transaction, to send together and wait for at commit. */
export interface DmaBatch {
  /** 1 for the first transaction, then counting up. */
  readonly seq: number;
  readonly ops: readonly DmaOp[];
}

interface State {
  readonly open: boolean;
  /** The open transaction's operations (a fresh array per transaction, appended to while it is open). */
  readonly ops: DmaOp[];
  /** Ids of the sections the server has been (or is being) told about. */
  readonly mapped: Set<number>;
  readonly seq: number;
  readonly out: DmaBatch | undefined;
}

// The accumulator belongs to one subscription's fold and its set and op list are updated in place:
// copying them on every change made a transaction of n sections cost O(n^2) (about 5 s for 10,000).
const initial = (): State => ({ open: false, ops: [], mapped: new Set(), seq: 0, out: undefined });

/** The smallest page size in a pgsizes mask (its lowest set bit). */
export const minPageSize = (pgsizes: number): number => pgsizes - (pgsizes & (pgsizes - 1));

const hex = (n: number) => `0x${n.toString(16)}`;

/** Why an add must not be sent, or undefined when it fits the limits. */
const refusal = (section: MemorySection, mapped: ReadonlySet<number>, limits: DmaLimits): LimitError | undefined => {
  const page = minPageSize(limits.pgsizes);
  if (section.iova % page !== 0 || section.size % page !== 0) {
    return new LimitError(`DMA_MAP ${hex(section.iova)}+${hex(section.size)} is not aligned to the server's page size ${hex(page)}`);
  }
  if (mapped.size >= limits.maxDmaMaps) {
    return new LimitError(`DMA_MAP ${hex(section.iova)}: the server allows at most ${limits.maxDmaMaps} mappings`);
  }
  return undefined;
};

const step = (s: State, change: MemoryChange, limits: DmaLimits): State => {
  if (change.type === 'begin') return { ...s, open: true, ops: [], out: undefined };
  if (change.type === 'commit') return { ...s, open: false, ops: [], seq: s.seq + 1, out: { seq: s.seq + 1, ops: s.ops } };
  const { mapped } = s;
  let op: DmaOp | undefined;
  if (change.type === 'add') {
    const error = refusal(change.section, mapped, limits);
    op = error ? { kind: 'rejected', section: change.section, error } : { kind: 'map', section: change.section };
    if (!error) mapped.add(change.section.id);
  } else if (mapped.delete(change.section.id)) {
    op = { kind: 'unmap', section: change.section };
  }
  // A change outside begin/commit is a transaction of its own.
  if (!s.open) return { ...s, ops: [], seq: s.seq + 1, out: { seq: s.seq + 1, ops: op ? [op] : [] } };
  if (op) s.ops.push(op);
  return { ...s, out: undefined };
};

/**
 * Folds the memory-listener change stream into one batch of DMA operations per transaction,
 * emitted at its commit. Adds that break the server's limits (page alignment, max_dma_maps) become
 * `rejected` entries carrying a LimitError and are never sent; removing such a section sends nothing.
 *
 * ```
 * changes: --b-a-a-r-c--b-a-c-|
 * batches: ----------X------Y-|     X = {seq 1, [map, map, unmap]}, Y = {seq 2, [map]}
 * ```
 */
export const dmaTransactions =
  (limits: DmaLimits): OperatorFunction<MemoryChange, DmaBatch> =>
  (changes$) =>
    defer(() =>
      changes$.pipe(
        scan((s: State, c: MemoryChange) => step(s, c, limits), initial()),
        filter((s) => s.out !== undefined),
        map((s) => s.out!),
      ),
    );
