import type { Native } from '../native/types.js';
import { PciRegion, RegionFlags } from '../protocol/constants.js';
import type { SparseMmapArea } from '../protocol/region-caps.js';
import type { RegionInfo } from '../protocol/region-info.js';
import type { DiscoveredRegion } from './discover.js';

/** A part of a region mapped into this process: accesses inside it skip the socket. */
export interface MappedArea {
  /** Offset of the area in the region. */
  readonly offset: number;
  readonly size: number;
  /** The mapping (detached, length 0, after close). */
  readonly buffer: Buffer;
  /** Mapped read-write (the region has the WRITE flag); otherwise read-only. */
  readonly writable: boolean;
  /** The count of mapping faults: it changes across an access that touched pages the server cut off its file. */
  readonly faults: () => number;
}

/** The mapped areas of one region, and why any area was left to messages. */
export interface RegionMapping {
  readonly areas: readonly MappedArea[];
  readonly warnings: readonly string[];
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** The areas a region may be mapped in: its sparse areas, or the whole region without that cap. */
export const mappableAreas = (info: RegionInfo): readonly SparseMmapArea[] => {
  const sparse = info.caps.find((c) => c.kind === 'sparse_mmap');
  return sparse ? sparse.areas : [{ offset: 0, size: info.size }];
};

const tryMap = (native: Native, fd: number, info: RegionInfo, area: SparseMmapArea, warnings: string[]): MappedArea | undefined => {
  const where = `region ${info.index} area ${hex(area.offset)}+${hex(area.size)}`;
  if (area.size === 0 || area.offset + area.size > info.size) {
    warnings.push(`${where} lies outside the region of ${hex(info.size)} bytes; not mapped`);
    return undefined;
  }
  const fileOffset = info.offset + area.offset;
  const writable = (info.flags & RegionFlags.WRITE) !== 0;
  try {
    // Touching a mapping past the end of its file raises SIGBUS: believe the file, not the peer.
    const fileSize = native.fileSize(fd);
    if (fileOffset + area.size > fileSize) {
      warnings.push(`${where} ends past the fd's ${hex(fileSize)} bytes; not mapped`);
      return undefined;
    }
    const buffer = Buffer.from(native.mmap(fd, fileOffset, area.size, writable ? 'rw' : 'r'));
    return { offset: area.offset, size: area.size, buffer, writable, faults: native.mappingFaults };
  } catch (err) {
    warnings.push(`${where}: ${(err as Error).message}; not mapped`);
    return undefined;
  }
};

/**
 * Maps every mappable area of a region once, then closes the region fd (the mappings stay).
 * Config space is never mapped (its accesses must reach the server), nor a region without READ.
 * An area that cannot be mapped is left to REGION_READ/WRITE, with a warning.
 */
export const mapRegion = (native: Native, region: DiscoveredRegion): RegionMapping => {
  const { info, fd } = region;
  if (fd === undefined) return { areas: [], warnings: [] };
  try {
    if (info.index === PciRegion.CONFIG || (info.flags & RegionFlags.READ) === 0) return { areas: [], warnings: [] };
    const warnings: string[] = [];
    const areas = mappableAreas(info).flatMap((a) => tryMap(native, fd, info, a, warnings) ?? []);
    return { areas, warnings };
  } finally {
    native.close(fd);
  }
};

/** Unmaps areas now (their buffers drop to length 0). */
export const unmapAreas = (native: Native, areas: readonly MappedArea[]): void => {
  for (const a of areas) native.munmap(a.buffer.buffer as ArrayBuffer);
};

/** The mapped area holding all of [offset, offset + count), if any. */
export const areaFor = (areas: readonly MappedArea[], offset: number, count: number): MappedArea | undefined =>
  areas.find((a) => offset >= a.offset && offset + count <= a.offset + a.size && a.buffer.length === a.size);
