import { concatMap, defer, EMPTY, from, ignoreElements, map, of, toArray, type Observable } from 'rxjs';
import { splitTransfer, type Transfer } from '../../operators/chunkTransfers.js';
import { Command } from '../../protocol/constants.js';
import { MalformedMessageError } from '../../protocol/errors.js';
import {
  REGION_ACCESS_SIZE,
  decodeRegionReadReply,
  decodeRegionWriteReply,
  encodeRegionReadRequest,
  encodeRegionWriteRequest,
} from '../../protocol/region-access.js';
import type { RegionInfo } from '../../protocol/region-info.js';
import { call$, type Wire } from './call.js';
import { areaFor, type MappedArea } from './mmapRegions.js';

/** Options of one write. */
export interface WriteOptions {
  /**
   * false: wait for the server's reply. true or absent: post it (No_reply) when the region allows
   * it; config space, mappable devices and the postedWrites option say no whatever is asked here.
   */
  readonly posted?: boolean;
}

/** One region of the device, read and written by message or through its mapped areas. */
export interface ClientRegion {
  readonly index: number;
  readonly info: RegionInfo;
  /** Areas mapped into this process (empty when the region is not mappable). */
  readonly areas: readonly MappedArea[];
  /** Whether writes to this region are posted unless asked otherwise. */
  readonly posted: boolean;
  /** Reads `count` bytes from `offset`; emits one Buffer (a copy) and completes. */
  read(offset: number, count: number): Observable<Buffer>;
  /** Writes `data` at `offset`; completes when written (posted: when handed to the socket). */
  write(offset: number, data: Buffer, options?: WriteOptions): Observable<never>;
}

/** What a region needs: the wire, its info and mapped areas, and the chunk sizes negotiated. */
export interface RegionContext {
  readonly wire: Wire;
  readonly info: RegionInfo;
  readonly areas: readonly MappedArea[];
  /** Largest count of one REGION_READ: min(server's max_data_xfer_size, what we accept in a frame). */
  readonly readChunk: number;
  /** Largest data of one REGION_WRITE: min(server's max_data_xfer_size, request-body bound - 16). */
  readonly writeChunk: number;
  readonly posted: boolean;
}

const checkRange = (info: RegionInfo, offset: number, count: number): void => {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(count) || offset < 0 || count < 0 || offset + count > info.size) {
    throw new RangeError(`region ${info.index}: [0x${offset.toString(16)}, +0x${count.toString(16)}) is outside its 0x${info.size.toString(16)} bytes`);
  }
};

const readPiece$ = (ctx: RegionContext, t: Transfer): Observable<Buffer> => {
  const request = { offset: t.offset, region: ctx.info.index, count: t.count };
  return call$(ctx.wire, Command.REGION_READ, encodeRegionReadRequest(request), (p) => {
    const reply = decodeRegionReadReply(p, request);
    if (reply.count !== t.count) throw new MalformedMessageError('REGION_READ', 'count', `short read: ${reply.count} of ${t.count}`);
    return reply.data ?? Buffer.alloc(0);
  });
};

const writePiece$ = (ctx: RegionContext, t: Transfer, data: Buffer, posted: boolean): Observable<unknown> => {
  const request = { offset: t.offset, region: ctx.info.index, count: t.count };
  const payload = encodeRegionWriteRequest({ ...request, data });
  return call$(ctx.wire, Command.REGION_WRITE, payload, (p) => {
    const reply = decodeRegionWriteReply(p, request);
    if (reply.count !== t.count) throw new MalformedMessageError('REGION_WRITE', 'count', `short write: ${reply.count} of ${t.count}`);
  }, { noReply: posted });
};

/**
 * Reads by message, in pieces of at most readChunk bytes, one after the other. A read of one piece
 * (every register access) goes straight to its request: the split-and-join cost about a tenth of
 * a synchronous REGION_READ's client CPU.
 */
const readByMessage$ = (ctx: RegionContext, offset: number, count: number): Observable<Buffer> =>
  count <= ctx.readChunk
    ? readPiece$(ctx, { offset, count }).pipe(map((data) => Buffer.from(data)))
    : from(splitTransfer({ offset, count }, ctx.readChunk)).pipe(
        concatMap((t) => readPiece$(ctx, t)),
        toArray(),
        map((parts) => Buffer.concat(parts)),
      );

/** Writes by message, in pieces of at most writeChunk bytes, in order (one piece: straight to its request). */
const writeByMessage$ = (ctx: RegionContext, offset: number, data: Buffer, posted: boolean): Observable<never> =>
  data.length <= ctx.writeChunk
    ? writePiece$(ctx, { offset, count: data.length }, data, posted).pipe(ignoreElements())
    : from(splitTransfer({ offset, count: data.length }, ctx.writeChunk)).pipe(
        concatMap((t) => writePiece$(ctx, t, data.subarray(t.offset - offset, t.offset - offset + t.count), posted)),
        ignoreElements(),
      );

/** Builds a region accessor: the mmap fast path when an access lies in one mapped area, else messages. */
export const clientRegion = (ctx: RegionContext): ClientRegion => ({
  index: ctx.info.index,
  info: ctx.info,
  areas: ctx.areas,
  posted: ctx.posted,
  read: (offset, count) =>
    defer(() => {
      checkRange(ctx.info, offset, count);
      const area = areaFor(ctx.areas, offset, count);
      if (!area) return readByMessage$(ctx, offset, count);
      return of(Buffer.from(area.buffer.subarray(offset - area.offset, offset - area.offset + count)));
    }),
  write: (offset, data, options = {}) =>
    defer(() => {
      checkRange(ctx.info, offset, data.length);
      const area = areaFor(ctx.areas, offset, data.length);
      if (!area?.writable) return writeByMessage$(ctx, offset, data, ctx.posted && options.posted !== false);
      data.copy(area.buffer, offset - area.offset);
      return EMPTY;
    }),
});

/** Request payload bytes a REGION_WRITE adds around its data. */
export const REGION_WRITE_OVERHEAD = REGION_ACCESS_SIZE;
