import { RegionCap } from './constants.js';
import { type PayloadReader } from './reader.js';
import { putU16, putU32, putU64 } from './writer.js';

/** One mmap-able area of a region, relative to the region's mmap offset. */
export interface SparseMmapArea {
  readonly offset: number;
  readonly size: number;
}

/** A capability in the GET_REGION_INFO reply chain. */
export type RegionCapability =
  | { readonly kind: 'sparse_mmap'; readonly areas: readonly SparseMmapArea[] }
  | { readonly kind: 'type'; readonly type: number; readonly subtype: number }
  | { readonly kind: 'unknown'; readonly id: number; readonly version: number; readonly bytes: Buffer };

/** Size of the vfio_info_cap_header that starts every capability. */
export const CAP_HEADER_SIZE = 8;

/** Bytes a capability takes in the chain, header included. */
export const regionCapSize = (cap: RegionCapability): number => {
  switch (cap.kind) {
    case 'sparse_mmap':
      return 16 + 16 * cap.areas.length;
    case 'type':
      return 16;
    case 'unknown':
      return CAP_HEADER_SIZE + cap.bytes.length;
  }
};

const writeCap = (cap: RegionCapability, buf: Buffer, at: number, next: number): void => {
  putU32(buf, at + 4, next, 'next');
  switch (cap.kind) {
    case 'sparse_mmap':
      putU16(buf, at, RegionCap.SPARSE_MMAP, 'id');
      putU16(buf, at + 2, 1, 'version');
      putU32(buf, at + 8, cap.areas.length, 'nr_areas');
      cap.areas.forEach((a, i) => {
        putU64(buf, at + 16 + 16 * i, a.offset, 'offset');
        putU64(buf, at + 24 + 16 * i, a.size, 'size');
      });
      return;
    case 'type':
      putU16(buf, at, RegionCap.TYPE, 'id');
      putU16(buf, at + 2, 1, 'version');
      putU32(buf, at + 8, cap.type, 'type');
      putU32(buf, at + 12, cap.subtype, 'subtype');
      return;
    case 'unknown':
      putU16(buf, at, cap.id, 'id');
      putU16(buf, at + 2, cap.version, 'version');
      cap.bytes.copy(buf, at + CAP_HEADER_SIZE);
  }
};

/**
 * Lays out a capability chain back to back, as it sits at `base` bytes from the start of
 * region_info (`next` offsets are counted from there; the last one is 0).
 */
export const encodeRegionCaps = (caps: readonly RegionCapability[], base: number): Buffer => {
  const sizes = caps.map(regionCapSize);
  const buf = Buffer.alloc(sizes.reduce((a, b) => a + b, 0));
  let at = 0;
  caps.forEach((cap, i) => {
    const end = at + (sizes[i] ?? 0);
    writeCap(cap, buf, at, i === caps.length - 1 ? 0 : base + end);
    at = end;
  });
  return buf;
};

const readCap = (r: PayloadReader, at: number, next: number): RegionCapability => {
  const id = r.u16(at, 'id');
  const version = r.u16(at + 2, 'version');
  if (id === RegionCap.SPARSE_MMAP) {
    const nr = r.u32(at + 8, 'nr_areas');
    if (at + 16 + 16 * nr > r.length) r.fail('nr_areas', `${nr} areas run past the end of the reply`);
    const areas = Array.from({ length: nr }, (_, i) => ({
      offset: r.u64(at + 16 + 16 * i, 'offset'),
      size: r.u64(at + 24 + 16 * i, 'size'),
    }));
    return { kind: 'sparse_mmap', areas };
  }
  if (id === RegionCap.TYPE) return { kind: 'type', type: r.u32(at + 8, 'type'), subtype: r.u32(at + 12, 'subtype') };
  // An unknown capability has no length field: it extends to the next one, or to the end.
  const end = next > at ? Math.min(next, r.length) : r.length;
  return { kind: 'unknown', id, version, bytes: r.bytes(at + CAP_HEADER_SIZE, end - at - CAP_HEADER_SIZE, 'bytes') };
};

/**
 * Walks the capability chain from `first` (an offset from the start of region_info, which is
 * also the start of `r`), rejecting offsets inside the fixed struct, past the end, and loops.
 */
export const decodeRegionCaps = (r: PayloadReader, first: number, fixedSize: number): RegionCapability[] => {
  const caps: RegionCapability[] = [];
  const seen = new Set<number>();
  let field = 'cap_offset';
  for (let at = first; at !== 0; field = 'next') {
    if (seen.has(at)) r.fail('next', `capability chain loops back to 0x${at.toString(16)}`);
    if (at < fixedSize || at + CAP_HEADER_SIZE > r.length) {
      r.fail(field, `capability at 0x${at.toString(16)} lies outside [0x${fixedSize.toString(16)}, 0x${r.length.toString(16)})`);
    }
    seen.add(at);
    const next = r.u32(at + 4, 'next');
    caps.push(readCap(r, at, next));
    at = next;
  }
  return caps;
};
