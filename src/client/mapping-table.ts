import { DmaMapFlags } from '../protocol/constants.js';
import type { DmaBatch } from '../operators/dma-transactions.js';
import { editRanges, emptyRanges, rangeHolding, rangesOf, type Ranges } from '../protocol/ranges.js';

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

/** The mappings in force, by address (persistent: every version a value; O(log n) changes and lookups). */
export type MappingTable = Ranges<DmaMapping>;

/** No mappings. */
export const emptyMappingTable: MappingTable = emptyRanges<DmaMapping>();

/** A table holding `mappings` (which must not overlap). */
export const mappingTableOf = (mappings: readonly DmaMapping[]): MappingTable => rangesOf(mappings);

/** DMA_MAP flags for a section. */
export const mapFlags = (readonly: boolean): number => DmaMapFlags.READ | (readonly ? 0 : DmaMapFlags.WRITE);

/**
 * The fold step: a committed batch applied to the table (rejected adds never enter it): its unmaps,
 * then its maps, on one copy of the table, O(log n) each.
 */
export const applyBatch = (table: MappingTable, batch: DmaBatch): MappingTable => {
  const removed = new Set(batch.ops.filter((op) => op.kind === 'unmap').map((op) => op.section.id));
  return editRanges(table, (draft) => {
    for (const op of batch.ops) {
      if (op.kind === 'unmap' && draft.get(op.section.iova)?.sectionId === op.section.id) draft.delete(op.section.iova);
    }
    for (const op of batch.ops) {
      if (op.kind !== 'map' || removed.has(op.section.id)) continue;
      const { id, iova, size, readonly, buffer } = op.section;
      draft.set(iova, { sectionId: id, iova, size, flags: mapFlags(readonly), buffer });
    }
  });
};

/** The one mapping holding all of [address, address + count), if any (a range spanning two has none). */
export const findMapping = (table: MappingTable, address: number, count: number): DmaMapping | undefined => {
  const m = rangeHolding(table, address);
  return m && address + count <= m.iova + m.size ? m : undefined;
};
