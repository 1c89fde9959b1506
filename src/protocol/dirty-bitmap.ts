/** Parameters that shape a dirty bitmap: the IOVA range and the page size each bit covers. */
export interface DirtyBitmapRange {
  readonly iova: number;
  readonly length: number;
  readonly page_size: number;
}

/** Number of pages in a range: ceil(length / page_size). */
export const dirtyPageCount = (length: number, page_size: number): number =>
  Math.floor(length / page_size) + (length % page_size === 0 ? 0 : 1);

/** Bitmap bytes for a range: ceil(pages / 64) u64 words (libvfio-user's get_bitmap_size). */
export const dirtyBitmapSize = (length: number, page_size: number): number =>
  Math.ceil(dirtyPageCount(length, page_size) / 64) * 8;

/** A zeroed bitmap for a range. */
export const allocDirtyBitmap = (range: DirtyBitmapRange): Buffer => Buffer.alloc(dirtyBitmapSize(range.length, range.page_size));

// Page p is bit p%64 of little-endian u64 word p/64, which is bit p%8 of byte p/8.
/** Whether page `page` (counted from the range's iova) is marked dirty. */
export const isPageDirty = (bitmap: Buffer, page: number): boolean =>
  ((bitmap[Math.floor(page / 8)] ?? 0) & (1 << page % 8)) !== 0;

/** Marks page `page` dirty. */
export const setPageDirty = (bitmap: Buffer, page: number): void => {
  const byte = Math.floor(page / 8);
  if (byte >= bitmap.length) throw new RangeError(`page ${page} is outside a ${bitmap.length}-byte bitmap`);
  bitmap[byte] = (bitmap[byte] ?? 0) | (1 << page % 8);
};

/** Marks every page of `range` touched by [address, address + size) dirty; bytes outside the range are ignored. */
export const markDirty = (bitmap: Buffer, range: DirtyBitmapRange, address: number, size: number): void => {
  const start = Math.max(address, range.iova);
  const end = Math.min(address + size, range.iova + range.length);
  if (size === 0 || end <= start) return;
  const last = Math.floor((end - 1 - range.iova) / range.page_size);
  for (let p = Math.floor((start - range.iova) / range.page_size); p <= last; p++) setPageDirty(bitmap, p);
};

/** Guest addresses of the dirty pages of a range, in ascending order. */
export const dirtyAddresses = (bitmap: Buffer, range: DirtyBitmapRange): number[] => {
  const out: number[] = [];
  const pages = dirtyPageCount(range.length, range.page_size);
  for (let byte = 0; byte < bitmap.length && byte * 8 < pages; byte++) {
    if (bitmap[byte] === 0) continue;
    for (let bit = 0; bit < 8 && byte * 8 + bit < pages; bit++) {
      if (isPageDirty(bitmap, byte * 8 + bit)) out.push(range.iova + (byte * 8 + bit) * range.page_size);
    }
  }
  return out;
};
