/**
 * Region access dispatch. Every bound a handler relies on is checked here first: the region
 * exists, [offset, offset + count) lies inside it, and it allows the access.
 */
// The global Buffer of an ES module is a getter on globalThis, paid at every use: these run per access.
import { Buffer } from 'node:buffer';
import { isObservable, map } from 'rxjs';
import { RegionFlags } from '../protocol/constants.js';
import { Errno } from '../protocol/errno.js';
import { configAccess } from './config-region.js';
import type { RegionEntry } from './device.js';
import { fail } from './errors.js';
import { msixAccess, type AccessAnswer, type AccessOutcome } from './msix-region.js';
import type { Runtime } from './runtime.js';
import { stateOnly, type DeviceState } from './state.js';
import type { RegionAccess } from './types.js';

const lengthOf = (a: RegionAccess): number => (a.kind === 'read' ? a.count : a.data.length);

const within = (offset: number, length: number, area: { offset: number; size: number }): boolean =>
  offset >= area.offset && offset + length <= area.offset + area.size;

const touches = (offset: number, length: number, area: { offset: number; size: number }): boolean =>
  offset < area.offset + area.size && area.offset < offset + length;

/** The first overlay the access touches (a loop: find() would cost a closure per access). */
const touchedOverlay = <T extends { offset: number; size: number }>(overlays: readonly T[], offset: number, length: number): T | undefined => {
  for (const o of overlays) if (touches(offset, length, o)) return o;
  return undefined;
};

/** Plain memory access to a buffer. */
const memoryAccess = (state: DeviceState, bytes: Buffer, a: RegionAccess): AccessOutcome => {
  if (a.kind === 'read') return { state, data: Buffer.from(bytes.subarray(a.offset, a.offset + a.count)) };
  a.data.copy(bytes, a.offset);
  return { state };
};

/** The ROM reads its contents, zero-padded to the region size (the region is read-only). */
const romRead = (state: DeviceState, contents: Buffer, a: RegionAccess): AccessOutcome => {
  const count = lengthOf(a);
  const data = Buffer.alloc(count);
  contents.copy(data, 0, Math.min(a.offset, contents.length), Math.min(a.offset + count, contents.length));
  return { state, data };
};

const handlerAccess = (rt: Runtime, state: DeviceState, a: RegionAccess): AccessAnswer => {
  const port = rt.ports.get(a.region);
  // A BAR without a handler reads zeros and ignores writes.
  if (!port) return a.kind === 'read' ? { state, data: Buffer.alloc(a.count) } : { state };
  const out = port.access(a);
  if (isObservable(out)) return out.pipe(map((data) => ({ state, data })));
  return out === undefined ? stateOnly(state) : { state, data: out };
};

/** RAM-backed: the mappable areas (and, without a trap handler, everything) are plain memory. */
const ramAccess = (rt: Runtime, state: DeviceState, entry: RegionEntry, a: RegionAccess): AccessAnswer => {
  if (entry.backing.kind !== 'ram') return fail(Errno.EINVAL, 'not a RAM region');
  const bytes = rt.ram.get(entry.index)?.memory.bytes;
  if (!bytes) return fail(Errno.EIO, `region ${entry.index} has no memory`);
  const length = lengthOf(a);
  const { areas, trap } = entry.backing;
  if (!trap || areas.some((area) => within(a.offset, length, area))) return memoryAccess(state, bytes, a);
  if (areas.some((area) => touches(a.offset, length, area))) fail(Errno.EINVAL, 'access straddles a mappable area boundary');
  return handlerAccess(rt, state, a);
};

const checkBounds = (entry: RegionEntry | undefined, a: RegionAccess): RegionEntry => {
  if (!entry || entry.size === 0) return fail(Errno.EINVAL, `region ${a.region} is not implemented`);
  const length = lengthOf(a);
  if (a.offset + length > entry.size) {
    fail(Errno.EINVAL, `${a.kind} of ${length} bytes at 0x${a.offset.toString(16)} runs past region ${a.region} (0x${entry.size.toString(16)} bytes)`);
  }
  const need = a.kind === 'read' ? RegionFlags.READ : RegionFlags.WRITE;
  if ((entry.flags & need) === 0) fail(Errno.EINVAL, `region ${a.region} is not ${a.kind}able`);
  return entry;
};

/**
 * Serves one access to any region, after checking its bounds (a failed check throws): the new
 * state and the data read, plain when served synchronously, else as an Observable of them.
 */
export const accessRegion = (rt: Runtime, state: DeviceState, a: RegionAccess): AccessAnswer => {
  const entry = checkBounds(rt.device.regions[a.region], a);
  const length = lengthOf(a);
  if (length === 0) return a.kind === 'read' ? { state, data: Buffer.alloc(0) } : { state };
  const overlay = touchedOverlay(entry.overlays, a.offset, length);
  if (overlay) return msixAccess(rt, state, overlay, a);
  switch (entry.backing.kind) {
    case 'config':
      return configAccess(rt, state, a);
    case 'rom':
      return romRead(state, entry.backing.contents, a);
    case 'ram':
      return ramAccess(rt, state, entry, a);
    case 'handler':
      return handlerAccess(rt, state, a);
    case 'none':
      return fail(Errno.EINVAL, `region ${a.region} is not implemented`);
  }
};
