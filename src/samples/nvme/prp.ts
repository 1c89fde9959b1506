/**
 * PRP walking (NVMe base specification 1.4, section 4.3): the guest memory a command's data lives
 * in, from its PRP1 and PRP2 and the transfer length, in pages of the controller's page size.
 */
import { concatMap, defer, map, of, type Observable } from 'rxjs';
import type { GuestMemory } from '../../server/index.js';
import { GenericStatus, readU64, type Status } from './entries.js';

/** A run of guest memory. */
export interface Segment {
  readonly iova: number;
  readonly length: number;
}

/** A command's PRPs are wrong: the status the controller completes it with. */
export class PrpError extends Error {
  readonly code = 'ERR_NVME_PRP';
  constructor(
    readonly status: Status,
    message: string,
  ) {
    super(message);
    this.name = 'PrpError';
  }
}

const offsetInvalid = (what: string): PrpError => new PrpError({ sct: 0, sc: GenericStatus.PRP_OFFSET_INVALID }, what);

/** Adds a run, joining it to the previous one when they touch (consecutive pages are one copy). */
const push = (segments: Segment[], iova: number, length: number): void => {
  const last = segments[segments.length - 1];
  if (last && last.iova + last.length === iova) segments[segments.length - 1] = { iova: last.iova, length: last.length + length };
  else segments.push({ iova, length });
};

/**
 * The segments holding `length` bytes of a command's data. PRP1 may start inside a page (at a
 * dword); the rest of the data is in whole pages: PRP2 itself when one more page is enough, else
 * PRP2 is the address of a PRP list, whose last entry on each list page points to the next list
 * page when more entries are needed. Errors with PrpError (PRP Offset Invalid) for a misaligned
 * pointer, and with the memory's DmaError when a list cannot be read.
 */
export const prpSegments = (memory: Pick<GuestMemory, 'read'>, prp1: number, prp2: number, length: number, pageSize: number): Observable<readonly Segment[]> =>
  defer(() => {
    const segments: Segment[] = [];
    if (length === 0) return of(segments);
    if (prp1 % 4 !== 0) throw offsetInvalid(`PRP1 0x${prp1.toString(16)} is not dword aligned`);
    const first = Math.min(length, pageSize - (prp1 % pageSize));
    push(segments, prp1, first);
    let remaining = length - first;
    if (remaining === 0) return of(segments);
    if (remaining <= pageSize) {
      if (prp2 % pageSize !== 0) throw offsetInvalid(`PRP2 0x${prp2.toString(16)} has an offset in its page`);
      push(segments, prp2, remaining);
      return of(segments);
    }
    if (prp2 % 8 !== 0) throw offsetInvalid(`the PRP list at 0x${prp2.toString(16)} is not aligned to its entries`);
    // One list page at a time: its entries up to the page end; the last one chains when more are needed.
    const walk = (list: number): Observable<readonly Segment[]> =>
      defer(() => {
        const needed = Math.ceil(remaining / pageSize);
        const onPage = (pageSize - (list % pageSize)) / 8;
        const chains = needed > onPage;
        const entries = chains ? onPage : needed;
        return memory.read(list, entries * 8).pipe(
          map((bytes) => {
            const data = chains ? entries - 1 : entries;
            for (let i = 0; i < data; i++) {
              const page = readU64(bytes, i * 8);
              if (page % pageSize !== 0) throw offsetInvalid(`PRP list entry 0x${page.toString(16)} has an offset in its page`);
              const n = Math.min(remaining, pageSize);
              push(segments, page, n);
              remaining -= n;
            }
            if (!chains) return undefined;
            const next = readU64(bytes, (entries - 1) * 8);
            if (next % 8 !== 0) throw offsetInvalid(`the next PRP list at 0x${next.toString(16)} is not aligned to its entries`);
            return next;
          }),
          // One read per list page: the next page's address is in this one.
          concatMap((next) => (next === undefined ? of(segments) : walk(next))),
        );
      });
    return walk(prp2);
  });
