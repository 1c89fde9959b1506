import { DmaMapFlags } from '../protocol/constants.js';
import type { DmaBatch } from '../operators/dma-transactions.js';
import { editRanges, emptyRanges, rangeHolding, rangesOf, type MappedRange, type Ranges } from '../protocol/ranges.js';

/** One range of guest memory the server has been told about, with what it may do there (flags: READ, and WRITE unless read-only). */
export interface GuestMapping extends MappedRange {
  readonly sectionId: number;
  /** Our view of the memory (length 0 once the section is released). */
  readonly buffer: Buffer;
  /** The memfd backing it and the offset in it (sent with DMA_MAP in fd mode; sent again after a reconnect). */
  readonly fd: number;
  readonly fdOffset: number;
}

/** The mappings in force, by address (persistent: every version a value; O(log n) changes and lookups). */
export type MappingTable = Ranges<GuestMapping>;

/** No mappings. */
export const emptyMappingTable: MappingTable = emptyRanges<GuestMapping>();

/** A table holding `mappings` (which must not overlap). */
export const mappingTableOf = (mappings: readonly GuestMapping[]): MappingTable => rangesOf(mappings);

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
      const { id, iova, size, readonly, buffer, fd, fdOffset } = op.section;
      draft.set(iova, { sectionId: id, iova, size, flags: mapFlags(readonly), buffer, fd, fdOffset });
    }
  });
};

/** The one mapping holding all of [address, address + count), if any (a range spanning two has none). */
export const findMapping = (table: MappingTable, address: number, count: number): GuestMapping | undefined => {
  const m = rangeHolding(table, address);
  return m && address + count <= m.iova + m.size ? m : undefined;
};
