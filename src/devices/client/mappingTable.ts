import { DmaMapFlags } from '../../protocol/constants.js';
import type { DmaBatch } from '../../operators/dmaTransactions.js';

/** One range of guest memory the server has been told about, with what it may do there. */
export interface DmaMapping {
  readonly sectionId: number;
  readonly iova: number;
  readonly size: number;
  /** DMA_MAP flags: READ, and WRITE unless the section is read-only. */
  readonly flags: number;
  /** Our view of the memory (length 0 once the section is released). */
  readonly buffer: Buffer;
}

/** The mappings in force, sorted by address. */
export type MappingTable = readonly DmaMapping[];

/** DMA_MAP flags for a section. */
export const mapFlags = (readonly: boolean): number => DmaMapFlags.READ | (readonly ? 0 : DmaMapFlags.WRITE);

const byIova = (a: DmaMapping, b: DmaMapping): number => a.iova - b.iova;

/** Index of the first mapping whose iova is at least `iova`. */
const lowerBound = (table: MappingTable, iova: number): number => {
  let lo = 0;
  let hi = table.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (table[mid]!.iova < iova) lo = mid + 1;
    else hi = mid;
  }
  return lo;
};

/** Two tables sorted by address merged into one (ties keep `a` first, as a stable sort would). */
const merged = (a: MappingTable, b: MappingTable): DmaMapping[] => {
  const out: DmaMapping[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) out.push(a[i]!.iova <= b[j]!.iova ? a[i++]! : b[j++]!);
  while (i < a.length) out.push(a[i++]!);
  while (j < b.length) out.push(b[j++]!);
  return out;
};

/** A few changes made on a copy by binary search and splice (native copies) rather than a pass in JS. */
const edited = (table: MappingTable, removed: readonly { id: number; iova: number }[], added: readonly DmaMapping[]): DmaMapping[] => {
  const next = table.slice();
  for (const { id, iova } of removed) {
    const guess = lowerBound(next, iova);
    const at = next[guess]?.sectionId === id ? guess : next.findIndex((m) => m.sectionId === id);
    if (at >= 0) next.splice(at, 1);
  }
  for (const m of added) next.splice(lowerBound(next, m.iova), 0, m);
  return next;
};

// Batches up to this many operations are applied by `edited`, larger ones by filter and merge.
const SMALL_BATCH = 8;

/**
 * The fold step: a committed batch applied to the table (rejected adds never enter it). Only the
 * batch's own changes are sorted and applied: re-sorting the whole table on every commit made
 * committing sections one at a time quadratic.
 */
export const applyBatch = (table: MappingTable, batch: DmaBatch): MappingTable => {
  const unmaps = batch.ops.filter((op) => op.kind === 'unmap');
  const removed = new Set(unmaps.map((op) => op.section.id));
  const added = batch.ops.flatMap((op) =>
    op.kind === 'map' && !removed.has(op.section.id)
      ? [{ sectionId: op.section.id, iova: op.section.iova, size: op.section.size, flags: mapFlags(op.section.readonly), buffer: op.section.buffer }]
      : [],
  );
  if (unmaps.length + added.length <= SMALL_BATCH) return edited(table, unmaps.map((op) => op.section), added);
  const kept = removed.size === 0 ? table : table.filter((m) => !removed.has(m.sectionId));
  return merged(kept, added.sort(byIova));
};

/** The one mapping holding all of [address, address + count), if any (a range spanning two has none). */
export const findMapping = (table: MappingTable, address: number, count: number): DmaMapping | undefined =>
  table.find((m) => address >= m.iova && address + count <= m.iova + m.size);
