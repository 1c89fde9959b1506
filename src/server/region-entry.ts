/** The shape of a region as the server serves it (what layout builds and the device holds). */
import type { SparseMmapArea } from '../protocol/region-caps.js';
import type { RegionHandler } from './types.js';

/** How a region's bytes are served. */
export type RegionBacking =
  | { readonly kind: 'none' }
  | { readonly kind: 'config' }
  | { readonly kind: 'handler'; readonly handler: RegionHandler | undefined }
  | { readonly kind: 'ram'; readonly areas: readonly SparseMmapArea[]; readonly trap: RegionHandler | undefined }
  | { readonly kind: 'rom'; readonly contents: Buffer };

/** A part of a BAR the server emulates itself (MSI-X table or PBA). */
export interface RegionOverlay {
  readonly kind: 'msix-table' | 'msix-pba';
  readonly offset: number;
  readonly size: number;
}

/** One region as served: index, size (0 = not implemented), info flags, backing, overlays. */
export interface RegionEntry {
  readonly index: number;
  readonly size: number;
  /** READ, WRITE, MMAP. */
  readonly flags: number;
  readonly backing: RegionBacking;
  /** CAP_TYPE of a device-specific region. */
  readonly type?: { readonly type: number; readonly subtype: number };
  readonly overlays: readonly RegionOverlay[];
}
