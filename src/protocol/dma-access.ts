import { Errno } from './errno.js';
import { type PayloadReader, reader } from './reader.js';
import { type TransferLimits } from './region-access.js';
import { invalidInput, putU64 } from './writer.js';

/** DMA_READ / DMA_WRITE request or reply (server to client): guest address, length, data if any. */
export interface DmaAccess {
  readonly address: number;
  readonly count: number;
  /** Present in a read reply and a write request (a view of the payload, not a copy). */
  readonly data?: Buffer;
}

/** Size of the DMA access struct before the data. */
export const DMA_ACCESS_SIZE = 16;

const encodeAccess = (cmd: string, x: { address: number; count?: number; data?: Buffer }): Buffer => {
  const data = x.data ?? Buffer.alloc(0);
  const count = x.count ?? data.length;
  if (x.data && count !== data.length) invalidInput(cmd, 'count', `${count} but ${data.length} data bytes`);
  // Every byte is written below (both u64 fields, then the data): zero-filling first would be wasted.
  const buf = Buffer.allocUnsafe(DMA_ACCESS_SIZE + data.length);
  putU64(buf, 0, x.address, 'address');
  putU64(buf, 8, count, 'count');
  data.copy(buf, DMA_ACCESS_SIZE);
  return buf;
};

const checkLimit = (r: PayloadReader, count: number, limits: TransferLimits): void => {
  const max = limits.maxDataXferSize;
  if (max !== undefined && count > max) r.fail('count', `${count} > max_data_xfer_size ${max}`, Errno.E2BIG);
};

const withData = (r: PayloadReader): DmaAccess => {
  const address = r.u64(0, 'address');
  const count = r.u64(8, 'count');
  if (count !== r.length - DMA_ACCESS_SIZE) r.fail('count', `${count} but ${r.length - DMA_ACCESS_SIZE} data bytes`);
  return { address, count, data: r.bytes(DMA_ACCESS_SIZE, count, 'data') };
};

/** Encodes a DMA_READ request. */
export const encodeDmaReadRequest = (x: { address: number; count: number }): Buffer => encodeAccess('DMA_READ', x);

/** Decodes a DMA_READ request (exactly 16 bytes; count against the client's limit: E2BIG, as QEMU). */
export const decodeDmaReadRequest = (payload: Buffer, limits: TransferLimits = {}): DmaAccess => {
  const r = reader('DMA_READ', payload).exactly(DMA_ACCESS_SIZE);
  const x = { address: r.u64(0, 'address'), count: r.u64(8, 'count') };
  checkLimit(r, x.count, limits);
  return x;
};

/** Encodes a DMA_READ reply; count is the data length. */
export const encodeDmaReadReply = (x: { address: number; data: Buffer }): Buffer => encodeAccess('DMA_READ', x);

/** Decodes a DMA_READ reply; with the request, address and count must echo it (as libvfio-user). */
export const decodeDmaReadReply = (payload: Buffer, request?: DmaAccess): DmaAccess => {
  const r = reader('DMA_READ', payload).need(DMA_ACCESS_SIZE);
  const x = withData(r);
  r.echo('address', x.address, request?.address).echo('count', x.count, request?.count);
  return x;
};

/** Encodes a DMA_WRITE request; count is the data length. */
export const encodeDmaWriteRequest = (x: { address: number; data: Buffer }): Buffer => encodeAccess('DMA_WRITE', x);

/** Decodes a DMA_WRITE request: count must equal the data length; limit gives E2BIG. */
export const decodeDmaWriteRequest = (payload: Buffer, limits: TransferLimits = {}): DmaAccess => {
  const r = reader('DMA_WRITE', payload).need(DMA_ACCESS_SIZE);
  checkLimit(r, r.u64(8, 'count'), limits);
  return withData(r);
};

/** Encodes a DMA_WRITE reply as the 16-byte {address, count} libvfio-user checks. */
export const encodeDmaWriteReply = (x: { address: number; count: number }): Buffer => encodeAccess('DMA_WRITE', x);

/**
 * Decodes a DMA_WRITE reply: 16 bytes echoing the request, or header-only as QEMU sends
 * (accepted only with the request given, whose address and count it then acknowledges).
 */
export const decodeDmaWriteReply = (payload: Buffer, request?: DmaAccess): DmaAccess => {
  const r = reader('DMA_WRITE', payload);
  if (payload.length === 0 && request) return { address: request.address, count: request.count };
  r.exactly(DMA_ACCESS_SIZE);
  const x = { address: r.u64(0, 'address'), count: r.u64(8, 'count') };
  r.echo('address', x.address, request?.address).echo('count', x.count, request?.count);
  return x;
};
