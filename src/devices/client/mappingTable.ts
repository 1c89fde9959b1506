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

/** The fold step: a committed batch applied to the table (rejected adds never enter it). */
export const applyBatch = (table: MappingTable, batch: DmaBatch): MappingTable => {
  const removed = new Set(batch.ops.filter((op) => op.kind === 'unmap').map((op) => op.section.id));
  const added = batch.ops.flatMap((op) =>
    op.kind === 'map' && !removed.has(op.section.id)
      ? [{ sectionId: op.section.id, iova: op.section.iova, size: op.section.size, flags: mapFlags(op.section.readonly), buffer: op.section.buffer }]
      : [],
  );
  return [...table.filter((m) => !removed.has(m.sectionId)), ...added].sort((a, b) => a.iova - b.iova);
};

/** The one mapping holding all of [address, address + count), if any (a range spanning two has none). */
export const findMapping = (table: MappingTable, address: number, count: number): DmaMapping | undefined =>
  table.find((m) => address >= m.iova && address + count <= m.iova + m.size);
