/**
 * Guest memory's sections and change events, and its section set: a fold of its operations
 * (transactions of adds and removes, nested begin/commit publishing once) over a persistent ordered
 * map, and the checks a new section passes (no overlap, a slice inside its RAM block).
 */
import { emptyRanges, rangeHolding, rangeList, withRange, withoutRange, type Ranges } from '../protocol/ranges.js';

/** One block of guest RAM: a memfd with a local mapping the owner reads and writes. */
export interface MemorySection {
  /** Unique within its guest memory, in order of creation. */
  readonly id: number;
  /** Guest (DMA) address of the first byte. */
  readonly iova: number;
  readonly size: number;
  /** The device may read but not write it (DMA_MAP without WRITE). */
  readonly readonly: boolean;
  /** The memfd backing the section (owned by the guest memory; closed when the section goes away). */
  readonly fd: number;
  /** Offset of the section in `fd`. */
  readonly fdOffset: number;
  /**
   * The local shared mapping of the whole section: detached (length 0) once removed, for a section
   * of its own memfd; a view of its block, valid until the guest memory is closed, for a slice.
   */
  readonly buffer: Buffer;
  /** The block this section is a slice of, if it is one. */
  readonly block?: RamBlock;
}

/**
 * A block of guest RAM: one memfd, mapped once, that sections may be slices of (QEMU's RAM blocks
 * and their memory region sections): many sections, one fd and one mapping. It lives until the
 * guest memory is closed.
 */
export interface RamBlock {
  readonly fd: number;
  readonly size: number;
  /** The local shared mapping of the whole block. */
  readonly buffer: Buffer;
}

/** One event of the memory-listener change stream; add/remove always come between begin and commit. */
export type MemoryChange =
  | { readonly type: 'begin' }
  | { readonly type: 'add'; readonly section: MemorySection }
  | { readonly type: 'remove'; readonly section: MemorySection }
  | { readonly type: 'commit' };

/** What to add: a range of guest addresses. */
export interface SectionSpec {
  readonly iova: number;
  readonly size: number;
  readonly readonly?: boolean;
  /** memfd name (shows in /proc/<pid>/fd); default `guest-ram@<iova>`. Not used for a slice. */
  readonly name?: string;
  /** Makes the section a slice of this block (made by `block()` of the same guest memory) rather than a memfd of its own. */
  readonly block?: RamBlock;
  /** Where the slice starts in the block: a multiple of the page size (4096), with `size` bytes inside the block. */
  readonly blockOffset?: number;
}

export type Op = { readonly type: 'begin' | 'commit' } | { readonly type: 'add' | 'remove'; readonly section: MemorySection };

export interface State {
  readonly depth: number;
  readonly sections: Ranges<MemorySection>;
  /** The change to publish for this op (nested begin/commit publish nothing). */
  readonly emit: MemoryChange | undefined;
  /** Sections removed in the open transaction, released after its commit is published. */
  readonly removed: readonly MemorySection[];
  readonly release: readonly MemorySection[];
}

// The section set is a persistent ordered map (protocol/ranges.ts): each version a value, an add or
// remove O(log n) (a sorted array copied on every add made 10,000 sections cost seconds).
export const initial = (): State => ({ depth: 0, sections: emptyRanges<MemorySection>(), emit: undefined, removed: [], release: [] });

// The array `sections` hands out, one per version: the same array until the set changes.
const listed = new WeakMap<Ranges<MemorySection>, readonly MemorySection[]>();
export const listOf = (sections: Ranges<MemorySection>): readonly MemorySection[] => {
  let list = listed.get(sections);
  if (!list) listed.set(sections, (list = rangeList(sections)));
  return list;
};

const without = (sections: Ranges<MemorySection>, section: MemorySection): Ranges<MemorySection> =>
  sections.get(section.iova) === section ? withoutRange(sections, section.iova) : sections;

/** The fold of the section set over memory operations. */
export const reduce = (s: State, op: Op): State => {
  switch (op.type) {
    case 'begin':
      // The outer begin starts the transaction's own list of removed sections, appended to until its commit.
      return { ...s, depth: s.depth + 1, emit: s.depth === 0 ? op : undefined, removed: s.depth === 0 ? [] : s.removed, release: [] };
    case 'commit': {
      const outer = s.depth === 1;
      return { ...s, depth: s.depth - 1, emit: outer ? op : undefined, removed: outer ? [] : s.removed, release: outer ? s.removed : [] };
    }
    case 'add':
      return { ...s, sections: withRange(s.sections, op.section), emit: op, release: [] };
    case 'remove':
      (s.removed as MemorySection[]).push(op.section);
      return { ...s, sections: without(s.sections, op.section), emit: op, release: [] };
  }
};

/** The lowest present section overlapping `spec` (sections are disjoint: the one holding its start, else the first after it). */
const firstClash = (spec: SectionSpec, present: Ranges<MemorySection>): MemorySection | undefined => {
  const holding = rangeHolding(present, spec.iova);
  if (holding) return holding;
  const next = present.nextHigherPair(spec.iova)?.[1];
  return next && next.iova < spec.iova + spec.size ? next : undefined;
};

export const checkSpec = (spec: SectionSpec, present: Ranges<MemorySection>): void => {
  if (!Number.isSafeInteger(spec.iova) || spec.iova < 0) throw new RangeError(`iova ${spec.iova} is not a non-negative integer`);
  if (!Number.isSafeInteger(spec.size) || spec.size <= 0) throw new RangeError(`size ${spec.size} is not a positive integer`);
  const clash = firstClash(spec, present);
  if (clash) {
    throw new RangeError(`section at 0x${spec.iova.toString(16)} overlaps the one at 0x${clash.iova.toString(16)}`);
  }
};

const PAGE = 4096;

export const checkSlice = (spec: SectionSpec, blocks: ReadonlySet<RamBlock>): RamBlock => {
  const block = spec.block!;
  const offset = spec.blockOffset ?? 0;
  if (!blocks.has(block)) throw new RangeError('the block was not made by this guest memory, or it is closed');
  if (!Number.isSafeInteger(offset) || offset < 0 || offset % PAGE !== 0) throw new RangeError(`blockOffset ${offset} is not a non-negative multiple of ${PAGE}`);
  if (offset + spec.size > block.size) {
    throw new RangeError(`[0x${offset.toString(16)}, +0x${spec.size.toString(16)}) runs past the block's 0x${block.size.toString(16)} bytes`);
  }
  return block;
};

