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

/** The access struct, then the data itself (not copied) when there is any. */
const accessPieces = (cmd: string, x: { address: number; count?: number; data?: Buffer }): Buffer[] => {
  const count = x.count ?? x.data?.length ?? 0;
  if (x.data && count !== x.data.length) invalidInput(cmd, 'count', `${count} but ${x.data.length} data bytes`);
  // Both u64 fields are written below: zero-filling first would be wasted.
  const head = Buffer.allocUnsafe(DMA_ACCESS_SIZE);
  putU64(head, 0, x.address, 'address');
  putU64(head, 8, count, 'count');
  return x.data && x.data.length > 0 ? [head, x.data] : [head];
};

const encodeAccess = (cmd: string, x: { address: number; count?: number; data?: Buffer }): Buffer => {
  const pieces = accessPieces(cmd, x);
  return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
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

/**
 * A DMA_READ reply as payload pieces: the 16-byte struct, then `data` itself, not copied (for
 * large transfers: the socket reads the data where it is).
 */
export const dmaReadReplyPieces = (x: { address: number; data: Buffer }): Buffer[] => accessPieces('DMA_READ', x);

/** Decodes a DMA_READ reply; with the request, address and count must echo it (as libvfio-user). */
export const decodeDmaReadReply = (payload: Buffer, request?: DmaAccess): DmaAccess => {
  const r = reader('DMA_READ', payload).need(DMA_ACCESS_SIZE);
  const x = withData(r);
  r.echo('address', x.address, request?.address).echo('count', x.count, request?.count);
  return x;
};

/** Encodes a DMA_WRITE request; count is the data length. */
export const encodeDmaWriteRequest = (x: { address: number; data: Buffer }): Buffer => encodeAccess('DMA_WRITE', x);

/** A DMA_WRITE request as payload pieces: the 16-byte struct, then `data` itself, not copied. */
export const dmaWriteRequestPieces = (x: { address: number; data: Buffer }): Buffer[] => accessPieces('DMA_WRITE', x);

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
