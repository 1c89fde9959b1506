/**
 * A dirty-page log for DMA logging (DEVICE_FEATURE DMA_LOGGING_START / REPORT / STOP): the server
 * logs the pages the device writes through the client's mappings; the client logs the pages its
 * answers to DMA_WRITE messages wrote, which are its to track, as the spec says. Pure data, no I/O.
 */
import { allocDirtyBitmap, markDirty, type DirtyBitmapRange } from './dirty-bitmap.js';

/**
 * The log of one logging session. Mutable, as a kernel's dirty bitmap is: writes mark their pages
 * as they happen (a server's device writes run outside its fold), and a report reads and clears
 * them. A set of page numbers: a page costs nothing until written.
 */
export class DirtyLog {
  private readonly pages = new Set<number>();

  /**
   * @param pageSize the logging granularity (a power of two)
   * @param ranges the ranges logged; empty: every address
   */
  constructor(
    readonly pageSize: number,
    readonly ranges: readonly { readonly iova: number; readonly length: number }[],
  ) {}

  /** Records a write of `length` bytes at `iova` (the parts outside the logged ranges are not recorded). */
  mark(iova: number, length: number): void {
    if (length <= 0) return;
    if (this.ranges.length === 0) return this.markPages(iova, length);
    for (const r of this.ranges) {
      const start = Math.max(iova, r.iova);
      const end = Math.min(iova + length, r.iova + r.length);
      if (start < end) this.markPages(start, end - start);
    }
  }

  private markPages(iova: number, length: number): void {
    const last = Math.floor((iova + length - 1) / this.pageSize);
    for (let page = Math.floor(iova / this.pageSize); page <= last; page++) this.pages.add(page);
  }

  /** Pages written so far (for monitoring and tests). */
  get dirtyPages(): number {
    return this.pages.size;
  }

  /**
   * The bitmap of `range` at its page size (a bit per page of range.page_size, set when any byte of
   * it was written), and those logged pages are cleared: the next report shows only later writes.
   */
  report(range: DirtyBitmapRange): Buffer {
    const bitmap = allocDirtyBitmap(range);
    const first = Math.floor(range.iova / this.pageSize);
    const last = Math.floor((range.iova + range.length - 1) / this.pageSize);
    // Whichever is smaller: the pages of the range, or the pages written.
    const visit = (page: number) => {
      const start = Math.max(page * this.pageSize, range.iova);
      const end = Math.min((page + 1) * this.pageSize, range.iova + range.length);
      markDirty(bitmap, range, start, end - start);
      this.pages.delete(page);
    };
    if (last - first + 1 <= this.pages.size) {
      for (let page = first; page <= last; page++) if (this.pages.has(page)) visit(page);
    } else {
      for (const page of [...this.pages]) if (page >= first && page <= last) visit(page);
    }
    return bitmap;
  }
}
