/**
 * Address ranges keyed by their start, in a persistent B+ tree (sorted-btree): every version is a
 * frozen value, and adding or removing one range copies only the path it changes, O(log n). The
 * client's mapping table and the server's DMA table are both folds over this shape: a sorted array
 * copied on every change made 65,535 maps quadratic, and a linear scan per DMA request slow.
 */
import BTreeModule from 'sorted-btree';

// sorted-btree is CommonJS with `exports.default`: Node hands an ES module the whole exports object.
const BTree = BTreeModule.default;

/** A range of addresses: [iova, iova + size). */
export interface AddressRange {
  readonly iova: number;
  readonly size: number;
}

/**
 * The shape of a DMA mapping on either side: a range and its DMA_MAP rights (READ, WRITE). The
 * client's GuestMapping and the server's DmaMapping add what each side holds of it.
 */
export interface MappedRange extends AddressRange {
  /** DMA_MAP flags (READ, WRITE). */
  readonly flags: number;
}

/** Ranges by start address, never overlapping (the callers check); a value. */
export type Ranges<R extends AddressRange> = Pick<
  InstanceType<typeof BTree<number, R>>,
  'size' | 'get' | 'getPairOrNextLower' | 'nextHigherPair' | 'valuesArray' | 'with' | 'without' | 'freeze'
>;

const frozen = <T extends { freeze(): void }>(tree: T): T => (tree.freeze(), tree);

/** No ranges. */
export const emptyRanges = <R extends AddressRange>(): Ranges<R> => frozen(new BTree<number, R>());

/** Ranges holding `list` (which must not overlap). */
export const rangesOf = <R extends AddressRange>(list: readonly R[]): Ranges<R> => frozen(new BTree<number, R>(list.map((r) => [r.iova, r])));

/** The ranges in address order. */
export const rangeList = <R extends AddressRange>(ranges: Ranges<R>): readonly R[] => ranges.valuesArray();

/** The operations a batch edit may make on a draft (a copy of the tree that is frozen when done). */
export interface RangesDraft<R extends AddressRange> {
  get(iova: number): R | undefined;
  set(iova: number, r: R): unknown;
  delete(iova: number): unknown;
}

/**
 * `ranges` after many changes at once: one copy-on-write clone (O(1)), the changes made to it, then
 * frozen; cheaper than a new version per change for a large batch.
 */
export const editRanges = <R extends AddressRange>(ranges: Ranges<R>, edit: (draft: RangesDraft<R>) => void): Ranges<R> => {
  const draft = (ranges as InstanceType<typeof BTree<number, R>>).clone();
  edit(draft);
  return frozen(draft);
};

/** `ranges` with `r` added (replacing one that starts at the same address). */
export const withRange = <R extends AddressRange>(ranges: Ranges<R>, r: R): Ranges<R> => frozen(ranges.with(r.iova, r, true) as Ranges<R>);

/** `ranges` without the one starting at `iova`. */
export const withoutRange = <R extends AddressRange>(ranges: Ranges<R>, iova: number): Ranges<R> => frozen(ranges.without(iova));

/** The range starting exactly at `iova` with exactly `size` bytes. */
export const exactRange = <R extends AddressRange>(ranges: Ranges<R>, iova: number, size: number): R | undefined => {
  const r = ranges.get(iova);
  return r && r.size === size ? r : undefined;
};

/** The range holding byte `at`: ranges never overlap, so only the last one starting at or before it can. */
export const rangeHolding = <R extends AddressRange>(ranges: Ranges<R>, at: number): R | undefined => {
  const r = ranges.getPairOrNextLower(at)?.[1];
  return r && at < r.iova + r.size ? r : undefined;
};

/** Whether any range overlaps [iova, iova + size): one starting at or before `iova` reaching it, or one starting inside. */
export const overlapsAny = <R extends AddressRange>(ranges: Ranges<R>, iova: number, size: number): boolean => {
  const before = ranges.getPairOrNextLower(iova)?.[1];
  const after = ranges.nextHigherPair(iova)?.[1];
  return (before !== undefined && before.iova + before.size > iova) || (after !== undefined && after.iova < iova + size);
};
