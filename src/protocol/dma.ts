import { DmaMapFlags, DmaUnmapFlags } from './constants.js';
import { expectEmpty, reader } from './reader.js';
import { type ArgszOptional, invalidInput, putU32, putU64 } from './writer.js';

/** DMA_MAP request: make [address, address+size) of guest memory known to the server. */
export interface DmaMapRequest {
  readonly argsz: number;
  /** READ, WRITE, and optionally one access mode (MODE_MMAP or MODE_FILE_IO). */
  readonly flags: number;
  /** Offset into the fd sent with the message; 0 without fd. */
  readonly offset: number;
  readonly address: number;
  readonly size: number;
}

/** Legacy dirty bitmap carried by DMA_UNMAP with GET_DIRTY_BITMAP. */
export interface DmaUnmapBitmap {
  readonly pgsize: number;
  /** Bitmap size in bytes. */
  readonly size: number;
  /** Bitmap bytes (reply only). */
  readonly data?: Buffer;
}

/** DMA_UNMAP request; the reply echoes the same shape. */
export interface DmaUnmapRequest {
  readonly argsz: number;
  /** 0, ALL (address = size = 0) or the legacy GET_DIRTY_BITMAP. */
  readonly flags: number;
  readonly address: number;
  readonly size: number;
  readonly bitmap?: DmaUnmapBitmap;
}

/** DMA_UNMAP reply: the request's struct echoed (plus the bitmap in the legacy form). */
export type DmaUnmapReply = DmaUnmapRequest;

/** Size of the DMA_MAP struct (and its argsz). */
export const DMA_MAP_SIZE = 32;
/** Size of the DMA_UNMAP struct without the legacy bitmap. */
export const DMA_UNMAP_SIZE = 24;
const BITMAP_HEADER_SIZE = 16;
const MAP_FLAGS = DmaMapFlags.READ | DmaMapFlags.WRITE | DmaMapFlags.MODE_MMAP | DmaMapFlags.MODE_FILE_IO;

/** Encodes a DMA_MAP request (argsz defaults to 32). */
export const encodeDmaMapRequest = (x: ArgszOptional<DmaMapRequest>): Buffer => {
  const buf = Buffer.alloc(DMA_MAP_SIZE);
  putU32(buf, 0, x.argsz ?? DMA_MAP_SIZE, 'argsz');
  putU32(buf, 4, x.flags, 'flags');
  putU64(buf, 8, x.offset, 'offset');
  putU64(buf, 16, x.address, 'address');
  putU64(buf, 24, x.size, 'size');
  return buf;
};

/** Decodes a DMA_MAP request, rejecting unknown flags and both access modes at once (as libvfio-user). */
export const decodeDmaMapRequest = (payload: Buffer): DmaMapRequest => {
  const r = reader('DMA_MAP', payload).need(DMA_MAP_SIZE);
  const argsz = r.u32(0, 'argsz');
  if (argsz < DMA_MAP_SIZE) r.fail('argsz', `${argsz} < ${DMA_MAP_SIZE}`);
  const flags = r.u32(4, 'flags');
  if ((flags & ~MAP_FLAGS) !== 0) r.fail('flags', `unknown bits 0x${(flags & ~MAP_FLAGS).toString(16)}`);
  if ((flags & DmaMapFlags.MODE_MMAP) && (flags & DmaMapFlags.MODE_FILE_IO)) {
    r.fail('flags', 'MODE_MMAP and MODE_FILE_IO are exclusive');
  }
  return { argsz, flags, offset: r.u64(8, 'offset'), address: r.u64(16, 'address'), size: r.u64(24, 'size') };
};

/** Encodes the (empty) DMA_MAP reply payload. */
export const encodeDmaMapReply = (): Buffer => Buffer.alloc(0);
/** Checks that a DMA_MAP reply has no payload. */
export const decodeDmaMapReply = (payload: Buffer): void => expectEmpty('DMA_MAP', payload);

const encodeUnmap = (x: DmaUnmapRequest, withData: boolean): Buffer => {
  const data = withData ? (x.bitmap?.data ?? Buffer.alloc(0)) : Buffer.alloc(0);
  if (x.bitmap && withData && data.length !== x.bitmap.size) {
    invalidInput('DMA_UNMAP', 'bitmap', `${data.length} data bytes but size ${x.bitmap.size}`);
  }
  const buf = Buffer.alloc(DMA_UNMAP_SIZE + (x.bitmap ? BITMAP_HEADER_SIZE + data.length : 0));
  putU32(buf, 0, x.argsz, 'argsz');
  putU32(buf, 4, x.flags, 'flags');
  putU64(buf, 8, x.address, 'address');
  putU64(buf, 16, x.size, 'size');
  if (x.bitmap) {
    putU64(buf, 24, x.bitmap.pgsize, 'pgsize');
    putU64(buf, 32, x.bitmap.size, 'bitmap.size');
    data.copy(buf, 40);
  }
  return buf;
};

/** Encodes a DMA_UNMAP request; argsz defaults to the reply size (24, or 40 + bitmap size). */
export const encodeDmaUnmapRequest = (x: ArgszOptional<DmaUnmapRequest>): Buffer => {
  const argsz = x.argsz ?? DMA_UNMAP_SIZE + (x.bitmap ? BITMAP_HEADER_SIZE + x.bitmap.size : 0);
  return encodeUnmap({ ...x, argsz }, false);
};

/** Decodes a DMA_UNMAP request with libvfio-user's checks on flags, ALL and argsz. */
export const decodeDmaUnmapRequest = (payload: Buffer): DmaUnmapRequest => {
  const r = reader('DMA_UNMAP', payload).need(DMA_UNMAP_SIZE);
  const argsz = r.u32(0, 'argsz');
  const flags = r.u32(4, 'flags');
  const address = r.u64(8, 'address');
  const size = r.u64(16, 'size');
  if (flags === DmaUnmapFlags.ALL) {
    if (address !== 0 || size !== 0) r.fail('address', 'ALL requires address and size 0');
  } else if (flags !== 0 && flags !== DmaUnmapFlags.GET_DIRTY_BITMAP) {
    r.fail('flags', `invalid flags 0x${flags.toString(16)}`);
  }
  if (flags !== DmaUnmapFlags.GET_DIRTY_BITMAP) {
    if (argsz < DMA_UNMAP_SIZE) r.fail('argsz', `${argsz} < ${DMA_UNMAP_SIZE}`);
    return { argsz, flags, address, size };
  }
  r.need(DMA_UNMAP_SIZE + BITMAP_HEADER_SIZE);
  const bitmap = { pgsize: r.u64(24, 'pgsize'), size: r.u64(32, 'bitmap.size') };
  const min = DMA_UNMAP_SIZE + BITMAP_HEADER_SIZE + bitmap.size;
  if (argsz < min) r.fail('argsz', `${argsz} < ${min} needed for the bitmap`);
  return { argsz, flags, address, size, bitmap };
};

/** Encodes the DMA_UNMAP reply (the request echoed, with bitmap data in the legacy form). */
export const encodeDmaUnmapReply = (x: DmaUnmapReply): Buffer => encodeUnmap(x, true);

/** Decodes a DMA_UNMAP reply; with the request, checks the echo and that it fits argsz. */
export const decodeDmaUnmapReply = (payload: Buffer, request?: DmaUnmapRequest): DmaUnmapReply => {
  const r = reader('DMA_UNMAP', payload).need(DMA_UNMAP_SIZE);
  const argsz = r.u32(0, 'argsz');
  const flags = r.u32(4, 'flags');
  const address = r.u64(8, 'address');
  const size = r.u64(16, 'size');
  r.fits(request?.argsz).echo('flags', flags, request?.flags).echo('address', address, request?.address);
  r.echo('size', size, request?.size);
  if ((flags & DmaUnmapFlags.GET_DIRTY_BITMAP) === 0) return { argsz, flags, address, size };
  r.need(DMA_UNMAP_SIZE + BITMAP_HEADER_SIZE);
  const pgsize = r.u64(24, 'pgsize');
  const bitmapSize = r.u64(32, 'bitmap.size');
  const data = r.bytes(40, bitmapSize, 'bitmap');
  return { argsz, flags, address, size, bitmap: { pgsize, size: bitmapSize, data } };
};
