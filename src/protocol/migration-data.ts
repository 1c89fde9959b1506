import { Errno } from './errno.js';
import { expectEmpty, type PayloadReader, reader } from './reader.js';
import { type TransferLimits } from './region-access.js';
import { type ArgszOptional, putU32 } from './writer.js';

/** MIG_DATA_READ request: read up to `size` bytes of the device's migration stream. */
export interface MigDataReadRequest {
  /** Largest reply payload accepted; at least 8 + size. */
  readonly argsz: number;
  readonly size: number;
}

/** MIG_DATA_READ reply; `size` below the request's means no more data for now. */
export interface MigDataReadReply {
  readonly argsz: number;
  readonly size: number;
  readonly data: Buffer;
}

/** MIG_DATA_WRITE request: `size` bytes of the migration stream for a RESUMING device. */
export interface MigDataWrite {
  readonly argsz: number;
  readonly size: number;
  readonly data: Buffer;
}

/** Size of the MIG_DATA struct before the data. */
export const MIG_DATA_SIZE = 8;

const checkSize = (r: PayloadReader, argsz: number, size: number, limits: TransferLimits): void => {
  const max = limits.maxDataXferSize;
  if (max !== undefined && size > max) r.fail('size', `${size} > max_data_xfer_size ${max}`, Errno.E2BIG);
  if (argsz < MIG_DATA_SIZE + size) r.fail('argsz', `${argsz} < 8 + size ${size}`);
};

/** Encodes a MIG_DATA_READ request (argsz defaults to 8 + size). */
export const encodeMigDataReadRequest = (x: ArgszOptional<MigDataReadRequest>): Buffer => {
  const buf = Buffer.alloc(MIG_DATA_SIZE);
  putU32(buf, 0, x.argsz ?? MIG_DATA_SIZE + x.size, 'argsz');
  putU32(buf, 4, x.size, 'size');
  return buf;
};

/** Decodes a MIG_DATA_READ request: argsz >= 8 + size (EINVAL), size within the limit (E2BIG). */
export const decodeMigDataReadRequest = (payload: Buffer, limits: TransferLimits = {}): MigDataReadRequest => {
  const r = reader('MIG_DATA_READ', payload).need(MIG_DATA_SIZE);
  const x = { argsz: r.u32(0, 'argsz'), size: r.u32(4, 'size') };
  checkSize(r, x.argsz, x.size, limits);
  return x;
};

/**
 * Encodes a MIG_DATA_READ reply (argsz = 8 + data length, size = data length). With `padTo` (the
 * requested size) the payload is zero-padded to 8 + padTo, as libvfio-user's server sends it: its
 * client reads the reply into a buffer of 8 + requested bytes and fails a shorter one (ECONNRESET).
 */
export const encodeMigDataReadReply = (x: { data: Buffer; padTo?: number }): Buffer => {
  const buf = Buffer.alloc(MIG_DATA_SIZE + Math.max(x.data.length, x.padTo ?? 0));
  putU32(buf, 0, MIG_DATA_SIZE + x.data.length, 'argsz');
  putU32(buf, 4, x.data.length, 'size');
  x.data.copy(buf, MIG_DATA_SIZE);
  return buf;
};

/**
 * Decodes a MIG_DATA_READ reply trusting `size`, not the payload length (libvfio-user pads the
 * payload to the requested size); with the request, size may not exceed the requested size.
 */
export const decodeMigDataReadReply = (payload: Buffer, request?: MigDataReadRequest): MigDataReadReply => {
  const r = reader('MIG_DATA_READ', payload).need(MIG_DATA_SIZE).fits(request?.argsz);
  const argsz = r.u32(0, 'argsz');
  const size = r.u32(4, 'size');
  if (request && size > request.size) r.fail('size', `${size} > requested ${request.size}`, Errno.E2BIG);
  if (MIG_DATA_SIZE + size > payload.length) r.fail('size', `${size} but ${payload.length - MIG_DATA_SIZE} data bytes`);
  return { argsz, size, data: r.bytes(MIG_DATA_SIZE, size, 'data') };
};

/** Encodes a MIG_DATA_WRITE request (argsz defaults to 8 + size, as libvfio-user wants). */
export const encodeMigDataWriteRequest = (x: { argsz?: number; data: Buffer }): Buffer => {
  const buf = Buffer.alloc(MIG_DATA_SIZE + x.data.length);
  putU32(buf, 0, x.argsz ?? MIG_DATA_SIZE + x.data.length, 'argsz');
  putU32(buf, 4, x.data.length, 'size');
  x.data.copy(buf, MIG_DATA_SIZE);
  return buf;
};

/** Decodes a MIG_DATA_WRITE request: at least 8 + size bytes, argsz >= 8 + size, size within the limit. */
export const decodeMigDataWriteRequest = (payload: Buffer, limits: TransferLimits = {}): MigDataWrite => {
  const r = reader('MIG_DATA_WRITE', payload).need(MIG_DATA_SIZE);
  const argsz = r.u32(0, 'argsz');
  const size = r.u32(4, 'size');
  checkSize(r, argsz, size, limits);
  if (MIG_DATA_SIZE + size > payload.length) r.fail('size', `${size} but ${payload.length - MIG_DATA_SIZE} data bytes`);
  return { argsz, size, data: r.bytes(MIG_DATA_SIZE, size, 'data') };
};

/** Encodes the (empty) MIG_DATA_WRITE reply payload. */
export const encodeMigDataWriteReply = (): Buffer => Buffer.alloc(0);
/** Checks that a MIG_DATA_WRITE reply has no payload. */
export const decodeMigDataWriteReply = (payload: Buffer): void => expectEmpty('MIG_DATA_WRITE', payload);
