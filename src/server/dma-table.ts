/**
 * The DMA mapping table as pure functions over persistent address ranges (protocol/ranges.ts, O(log n)
 * per change): the server folds DMA_MAP and DMA_UNMAP into it (the mmap and munmap around it are
 * the caller's effects).
 */
import { emptyRanges, exactRange, overlapsAny, rangeHolding, rangeList, withRange, withoutRange, type MappedRange, type Ranges } from '../protocol/ranges.js';
import { DmaMapFlags } from '../protocol/constants.js';
import { Errno } from '../protocol/errno.js';
import type { DmaMapRequest } from '../protocol/dma.js';
import { DmaError, fail } from './errors.js';
import { unmapWindows, type GuestWindows } from './windows.js';
import type { DmaRange } from './types.js';

/** One mapping: the client's range, its permissions, and our mmap of its fd if it sent one. */
export interface DmaMapping extends MappedRange {
  /** Offset into the client's fd (0 without fd). */
  readonly offset: number;
  /** Our mmap of the client's fd; undefined when it sent none (access goes by message). */
  readonly memory: GuestWindows | undefined;
}

/** Mappings by iova, never overlapping; a value. */
export type DmaTable = Ranges<DmaMapping>;

/** The table with no mapping. */
export const emptyDmaTable: DmaTable = emptyRanges<DmaMapping>();

/** The mappings in iova order. */
export const mappingsOf = (table: DmaTable): readonly DmaMapping[] => rangeList(table);

/** What DMA_MAP is checked against. */
export interface DmaLimits {
  readonly maxMaps: number;
  /** Alignment of iova and size: the smallest advertised page size. */
  readonly pageSize: number;
}

const PERMS = DmaMapFlags.READ | DmaMapFlags.WRITE;

/**
 * Checks a DMA_MAP request against the table and limits. Returns 'identical' when it repeats an
 * existing mapping exactly (accepted, as libvfio-user does), 'new' otherwise; throws a
 * DeviceError: EINVAL for a bad size, alignment or mode, EEXIST for an overlap, ENOSPC when full.
 */
export const checkMap = (table: DmaTable, req: DmaMapRequest, hasFd: boolean, limits: DmaLimits): 'new' | 'identical' => {
  const { address: iova, size } = req;
  if (size === 0) fail(Errno.EINVAL, 'DMA_MAP of size 0');
  if ((req.flags & PERMS) === 0) fail(Errno.EINVAL, 'DMA_MAP with neither READ nor WRITE');
  if (req.flags & DmaMapFlags.MODE_FILE_IO) fail(Errno.EINVAL, 'DMA_MAP access mode FILE_IO is not supported');
  if (req.flags & DmaMapFlags.MODE_MMAP && !hasFd) fail(Errno.EINVAL, 'DMA_MAP access mode MMAP without an fd');
  if (iova % limits.pageSize !== 0 || size % limits.pageSize !== 0) {
    fail(Errno.EINVAL, `DMA_MAP 0x${iova.toString(16)}+0x${size.toString(16)} is not aligned to ${limits.pageSize}`);
  }
  if (!Number.isSafeInteger(iova + size)) fail(Errno.EINVAL, 'DMA_MAP range wraps');
  if (!hasFd && req.offset !== 0) fail(Errno.EINVAL, 'DMA_MAP offset without an fd');
  const same = exactRange(table, iova, size);
  if (same && same.flags === (req.flags & PERMS) && same.offset === req.offset && (same.memory !== undefined) === hasFd) {
    return 'identical';
  }
  if (overlapsAny(table, iova, size)) fail(Errno.EEXIST, `DMA_MAP 0x${iova.toString(16)} overlaps a mapping`);
  if (table.size >= limits.maxMaps) fail(Errno.ENOSPC, `DMA_MAP beyond max_dma_maps ${limits.maxMaps}`);
  return 'new';
};

/** The table with `m` added (a new version: the table stays a value). */
export const addMapping = (table: DmaTable, m: DmaMapping): DmaTable => withRange(table, m);

/** The mapping for exactly [iova, iova+size) and the table without it; ENOENT when there is none. */
export const takeMapping = (table: DmaTable, iova: number, size: number): { table: DmaTable; removed: DmaMapping } => {
  const found = exactRange(table, iova, size);
  if (!found) return fail(Errno.ENOENT, `DMA_UNMAP 0x${iova.toString(16)}+0x${size.toString(16)} matches no mapping`);
  return { table: withoutRange(table, iova), removed: found };
};

/** A piece of a guest access that falls in one mapping. */
export interface DmaSegment {
  readonly mapping: DmaMapping;
  readonly iova: number;
  readonly length: number;
}

/**
 * Splits [iova, iova+length) into per-mapping segments. Throws DmaError EFAULT when any byte is
 * outside every mapping, EPERM when a mapping lacks the permission.
 */
export const resolveRange = (table: DmaTable, iova: number, length: number, access: 'read' | 'write'): DmaSegment[] => {
  const need = access === 'read' ? DmaMapFlags.READ : DmaMapFlags.WRITE;
  const segments: DmaSegment[] = [];
  let at = iova;
  const end = iova + length;
  while (at < end) {
    const m = rangeHolding(table, at);
    if (!m) throw new DmaError(Errno.EFAULT, iova, length, `0x${at.toString(16)} is not mapped`);
    if ((m.flags & need) === 0) throw new DmaError(Errno.EPERM, iova, length, `mapping at 0x${m.iova.toString(16)} is not ${access}able`);
    const take = Math.min(end, m.iova + m.size) - at;
    segments.push({ mapping: m, iova: at, length: take });
    at += take;
  }
  return segments;
};

/** The public view of the table. */
export const dmaRanges = (table: DmaTable): readonly DmaRange[] =>
  mappingsOf(table).map((m) => ({
    iova: m.iova,
    size: m.size,
    readable: (m.flags & DmaMapFlags.READ) !== 0,
    writable: (m.flags & DmaMapFlags.WRITE) !== 0,
    mapped: m.memory !== undefined,
  }));

/** Unmaps what our mapping of a client's range holds (nothing when it came without an fd): the table's one effect. */
export const releaseMapping = (m: DmaMapping): void => {
  if (m.memory) unmapWindows(m.memory);
};

/** Unmaps every mapping of a table (on DMA_UNMAP ALL, disconnect and reset). */
export const releaseMappings = (mappings: DmaTable): void => mappingsOf(mappings).forEach(releaseMapping);
