import { type DirtyBitmapRange, dirtyBitmapSize } from './dirty-bitmap.js';
import { type PayloadReader, reader } from './reader.js';
import { invalidInput, putU32, putU64 } from './writer.js';

/** One IOVA range to log. */
export interface DmaLoggingRange {
  readonly iova: number;
  readonly length: number;
}

/** Data of feature DMA_LOGGING_START (SET request; the reply echoes it with the page size chosen). */
export interface DmaLoggingStart {
  readonly page_size: number;
  /** Empty = log everything. */
  readonly ranges: readonly DmaLoggingRange[];
}

/** Data of a DMA_LOGGING_REPORT GET request. */
export type DmaLoggingReportRequest = DirtyBitmapRange;

/** Data of a DMA_LOGGING_REPORT GET reply: the request and its dirty bitmap. */
export interface DmaLoggingReport extends DirtyBitmapRange {
  readonly bitmap: Buffer;
}

const CMD = 'DEVICE_FEATURE';
const isPowerOfTwo = (n: number): boolean => n > 0 && (BigInt(n) & (BigInt(n) - 1n)) === 0n;

const checkPageSize = (r: PayloadReader, page_size: number): void => {
  if (!isPowerOfTwo(page_size)) r.fail('page_size', `${page_size} is not a power of 2`);
};

/** Encodes DMA_LOGGING_START data: page_size, num_ranges, reserved, ranges. */
export const encodeDmaLoggingStart = (x: DmaLoggingStart): Buffer => {
  const buf = Buffer.alloc(16 + 16 * x.ranges.length);
  putU64(buf, 0, x.page_size, 'page_size');
  putU32(buf, 8, x.ranges.length, 'num_ranges');
  x.ranges.forEach((range, i) => {
    putU64(buf, 16 + 16 * i, range.iova, 'iova');
    putU64(buf, 24 + 16 * i, range.length, 'length');
  });
  return buf;
};

/** Decodes DMA_LOGGING_START data; num_ranges must fit the bytes present and page_size be a power of 2. */
export const decodeDmaLoggingStart = (data: Buffer): DmaLoggingStart => {
  const r = reader(CMD, data).need(16);
  const page_size = r.u64(0, 'page_size');
  checkPageSize(r, page_size);
  const n = r.u32(8, 'num_ranges');
  if (16 + 16 * n > data.length) r.fail('num_ranges', `${n} ranges need ${16 + 16 * n} bytes, ${data.length} present`);
  const ranges = Array.from({ length: n }, (_, i) => ({
    iova: r.u64(16 + 16 * i, 'iova'),
    length: r.u64(24 + 16 * i, 'length'),
  }));
  return { page_size, ranges };
};

const writeRange = (buf: Buffer, x: DirtyBitmapRange): void => {
  putU64(buf, 0, x.iova, 'iova');
  putU64(buf, 8, x.length, 'length');
  putU64(buf, 16, x.page_size, 'page_size');
};

const readRange = (r: PayloadReader): DirtyBitmapRange => {
  const x = { iova: r.u64(0, 'iova'), length: r.u64(8, 'length'), page_size: r.u64(16, 'page_size') };
  checkPageSize(r, x.page_size);
  if (x.length === 0) r.fail('length', 'empty range');
  return x;
};

/** Encodes DMA_LOGGING_REPORT request data (iova, length, page_size). */
export const encodeDmaLoggingReportRequest = (x: DmaLoggingReportRequest): Buffer => {
  const buf = Buffer.alloc(24);
  writeRange(buf, x);
  return buf;
};

/** Decodes DMA_LOGGING_REPORT request data. */
export const decodeDmaLoggingReportRequest = (data: Buffer): DmaLoggingReportRequest => readRange(reader(CMD, data).need(24));

/** Encodes DMA_LOGGING_REPORT reply data: the range, then the bitmap of exactly the expected size. */
export const encodeDmaLoggingReport = (x: DmaLoggingReport): Buffer => {
  const size = dirtyBitmapSize(x.length, x.page_size);
  if (x.bitmap.length !== size) invalidInput(CMD, 'bitmap', `${x.bitmap.length} bytes, expected ${size}`);
  const buf = Buffer.alloc(24 + size);
  writeRange(buf, x);
  x.bitmap.copy(buf, 24);
  return buf;
};

/** Decodes DMA_LOGGING_REPORT reply data; with the request, the range must echo it. */
export const decodeDmaLoggingReport = (data: Buffer, request?: DmaLoggingReportRequest): DmaLoggingReport => {
  const r = reader(CMD, data).need(24);
  const range = readRange(r);
  r.echo('iova', range.iova, request?.iova).echo('length', range.length, request?.length);
  r.echo('page_size', range.page_size, request?.page_size);
  const size = dirtyBitmapSize(range.length, range.page_size);
  if (data.length - 24 !== size) r.fail('bitmap', `${data.length - 24} bytes, expected ${size}`);
  return { ...range, bitmap: r.bytes(24, size, 'bitmap') };
};
