// The global Buffer of an ES module is a getter on globalThis, paid at every use: these run per message.
import { Buffer } from 'node:buffer';
import { concatMap, from, ignoreElements, map, Observable, toArray, type Unsubscribable } from 'rxjs';
import { splitTransfer, type Transfer } from '../operators/chunk-transfers.js';
import { Command } from '../protocol/constants.js';
import { REGION_ACCESS_SIZE, checkWriteReply, encodeReadFast, encodeWriteFast, readReplyData } from '../protocol/region-access.js';
import type { RegionInfo } from '../protocol/region-info.js';

import { call$, relay, type Sink, type Wire } from './call.js';
import { areaFor, type MappedArea } from './mmap-regions.js';

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
  /** Reads `count` bytes from `offset`; emits one Buffer of its own (no one else holds it) and completes. */
  read(offset: number, count: number): Observable<Buffer>;
  /** Writes `data` at `offset`; completes when written (posted: when handed to the socket). */
  write(offset: number, data: Buffer, options?: WriteOptions): Observable<never>;
  /**
   * The request primitive under read(): the data goes to `sink` (next once, then complete), or the
   * error does (RangeError outside the region, the request's typed error); returns what cancels it.
   * For adapters that make nothing per access: the Promise facade's register reads are this.
   */
  readTo(offset: number, count: number, sink: Sink<Buffer>): Unsubscribable | undefined;
  /** The request primitive under write(): `sink` completes when written (posted: when handed to the socket). */
  writeFrom(offset: number, data: Buffer, sink: Sink<never>, options?: WriteOptions): Unsubscribable | undefined;
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
  return call$(ctx.wire, Command.REGION_READ, encodeReadFast(request), (p) => readReplyData(p, request));
};

const writePiece$ = (ctx: RegionContext, t: Transfer, data: Buffer, posted: boolean): Observable<never> =>
  new Observable<never>((subscriber) => writeOne(ctx, subscriber, t.offset, data, posted));

/** Sends one REGION_WRITE for `sink` (posted: No_reply, done once handed to the socket). */
const writeOne = (ctx: RegionContext, sink: Sink<never>, offset: number, data: Buffer, posted: boolean): Unsubscribable | undefined => {
  const region = ctx.info.index;
  const payload = encodeWriteFast(offset, region, data);
  if (!posted) {
    const request = { offset, region, count: data.length };
    return relay(ctx.wire, sink, Command.REGION_WRITE, payload, (p) => checkWriteReply(p, request));
  }
  try {
    ctx.wire.endpoint.post(Command.REGION_WRITE, payload);
  } catch (err) {
    sink.error(err);
    return undefined;
  }
  sink.complete();
  return undefined;
};

/**
 * Reads by message, in pieces of at most readChunk bytes, one after the other; each piece's data
 * is a view of its reply, which nothing else holds.
 */
const readMany$ = (ctx: RegionContext, offset: number, count: number): Observable<Buffer> =>
  from(splitTransfer({ offset, count }, ctx.readChunk)).pipe(
    concatMap((t) => readPiece$(ctx, t)),
    toArray(),
    map((parts) => Buffer.concat(parts)),
  );

/** Writes by message, in pieces of at most writeChunk bytes, in order. */
const writeMany$ = (ctx: RegionContext, offset: number, data: Buffer, posted: boolean): Observable<never> =>
  from(splitTransfer({ offset, count: data.length }, ctx.writeChunk)).pipe(
    concatMap((t) => writePiece$(ctx, t, data.subarray(t.offset - offset, t.offset - offset + t.count), posted)),
    ignoreElements(),
  );

// Areas whose file the server shrank under us: an access faulted there (the native SIGBUS handler
// put zero pages past the new end), so the mapping no longer shows the device: messages from then on.
const shrunk = new WeakSet<MappedArea>();

/**
 * Gives up mapped areas: accesses to them go by message from now on. For a reconnect, whose
 * server may be a new process with new memory behind the region (our mapping shows the old).
 */
export const abandonAreas = (areas: readonly MappedArea[]): void => areas.forEach((a) => shrunk.add(a));

/** The mapped area holding the whole access, unless there is none or the server shrank its file. */
const usableArea = (ctx: RegionContext, offset: number, count: number): MappedArea | undefined => {
  const area = ctx.areas.length > 0 ? areaFor(ctx.areas, offset, count) : undefined;
  return area && !shrunk.has(area) ? area : undefined;
};

/** Whether an access that began at fault count `before` faulted; if so the area is given up. */
const faulted = (area: MappedArea, before: number): boolean => {
  if (area.faults() === before) return false;
  shrunk.add(area);
  return true;
};

/** Checks the range, then reads it from a mapped area when one holds it all (a copy of its own). */
const mappedRead = (ctx: RegionContext, offset: number, count: number): Buffer | undefined => {
  checkRange(ctx.info, offset, count);
  const area = usableArea(ctx, offset, count);
  if (!area) return undefined;
  const before = area.faults();
  const data = Buffer.from(area.buffer.subarray(offset - area.offset, offset - area.offset + count));
  return faulted(area, before) ? undefined : data;
};

/** Checks the range, then writes it through a writable mapped area when one holds it all; whether it did. */
const mappedWrite = (ctx: RegionContext, offset: number, data: Buffer): boolean => {
  checkRange(ctx.info, offset, data.length);
  const area = usableArea(ctx, offset, data.length);
  if (!area?.writable) return false;
  const before = area.faults();
  data.copy(area.buffer, offset - area.offset);
  return !faulted(area, before);
};

/** read() of one region: the mmap fast path when one mapped area holds the range, else messages. */
const readTo = (ctx: RegionContext, offset: number, count: number, sink: Sink<Buffer>): Unsubscribable | undefined => {
  let mapped: Buffer | undefined;
  try {
    mapped = mappedRead(ctx, offset, count);
  } catch (err) {
    sink.error(err);
    return undefined;
  }
  if (mapped) {
    sink.next(mapped);
    sink.complete();
    return undefined;
  }
  if (count > ctx.readChunk) return readMany$(ctx, offset, count).subscribe(sink);
  const request = { offset, region: ctx.info.index, count };
  return relay(ctx.wire, sink, Command.REGION_READ, encodeReadFast(request), (p, to) => to.next(readReplyData(p, request)));
};

/** write() of one region: through a writable mapped area when one holds the range, else messages. */
const writeFrom = (ctx: RegionContext, offset: number, data: Buffer, sink: Sink<never>, options?: WriteOptions): Unsubscribable | undefined => {
  let done: boolean;
  try {
    done = mappedWrite(ctx, offset, data);
  } catch (err) {
    sink.error(err);
    return undefined;
  }
  if (done) {
    sink.complete();
    return undefined;
  }
  const posted = ctx.posted && options?.posted !== false;
  if (data.length > ctx.writeChunk) return writeMany$(ctx, offset, data, posted).subscribe(sink);
  return writeOne(ctx, sink, offset, data, posted);
};

/**
 * Builds a region accessor: the mmap fast path when an access lies in one mapped area, else
 * messages. An access of one piece (every register access) hands its request to the request
 * primitive directly: an operator chain per request cost more client CPU than the request itself.
 */
export const clientRegion = (ctx: RegionContext): ClientRegion => ({
  index: ctx.info.index,
  info: ctx.info,
  areas: ctx.areas,
  posted: ctx.posted,
  read: (offset, count) => new Observable<Buffer>((subscriber) => readTo(ctx, offset, count, subscriber)),
  write: (offset, data, options) => new Observable<never>((subscriber) => writeFrom(ctx, offset, data, subscriber, options)),
  readTo: (offset, count, sink) => readTo(ctx, offset, count, sink),
  writeFrom: (offset, data, sink, options) => writeFrom(ctx, offset, data, sink, options),
});

/** Request payload bytes a REGION_WRITE adds around its data. */
export const REGION_WRITE_OVERHEAD = REGION_ACCESS_SIZE;
