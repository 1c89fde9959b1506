/** DMA_MAP and DMA_UNMAP: the mapping table folded, with the mmap and munmap around it. */
import { DmaMapFlags, DmaUnmapFlags } from '../../protocol/constants.js';
import { decodeDmaMapRequest, decodeDmaUnmapRequest, encodeDmaUnmapReply, type DmaMapRequest } from '../../protocol/dma.js';
import { Errno } from '../../protocol/errno.js';
import { addMapping, checkMap, emptyDmaTable, releaseMapping, releaseMappings, takeMapping, type DmaMapping } from '../dma-table.js';
import { fail } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { mapWindows, type GuestWindows } from '../windows.js';
import { withSession, type CommandHandler } from './types.js';

/** The smallest page size of a pgsizes mask. */
const smallestPage = (pgsizes: number): number => 2 ** Math.max(12, Math.floor(Math.log2(pgsizes & -pgsizes)));

/** Maps the client's fd; its file must hold the whole range (touching past its end would raise SIGBUS). */
const mapClientFd = (rt: Runtime, fd: number, req: DmaMapRequest): GuestWindows => {
  const fileSize = rt.io.fileSize(fd);
  if (fileSize < req.offset + req.size) {
    fail(Errno.EINVAL, `DMA_MAP needs 0x${(req.offset + req.size).toString(16)} bytes of a 0x${fileSize.toString(16)}-byte file`);
  }
  const prot = req.flags & DmaMapFlags.WRITE ? 'rw' : 'r';
  return mapWindows(rt.io, fd, req.offset, req.size, prot);
};

/**
 * DMA_MAP. Overlap is EEXIST (the spec; libvfio-user says EINVAL), an identical re-map is
 * accepted, size 0 and misalignment are EINVAL, more than max_dma_maps is ENOSPC. The fd is
 * closed right after the mmap (the mapping stays).
 */
export const dmaMap: CommandHandler = (rt, state, frame) => {
  const req = decodeDmaMapRequest(frame.payload);
  if (frame.fds.length > 1) fail(Errno.EINVAL, `DMA_MAP with ${frame.fds.length} fds`);
  const fd = frame.fds[0];
  const limits = { maxMaps: rt.options.limits.maxDmaMaps, pageSize: smallestPage(rt.options.limits.pgsizes) };
  if (checkMap(state.session.mappings, req, fd !== undefined, limits) === 'identical') return { state };
  const memory = fd === undefined ? undefined : mapClientFd(rt, fd, req);
  const mapping: DmaMapping = { iova: req.address, size: req.size, flags: req.flags & (DmaMapFlags.READ | DmaMapFlags.WRITE), offset: req.offset, memory };
  return { state: withSession(state, { mappings: addMapping(state.session.mappings, mapping) }) };
};


/**
 * DMA_UNMAP: the range must match a mapping exactly (ENOENT otherwise), or flags ALL removes
 * every one. The mmap is gone before the reply, which echoes the request. The legacy dirty
 * bitmap is not supported (EINVAL).
 */
export const dmaUnmap: CommandHandler = (_rt, state, frame) => {
  const req = decodeDmaUnmapRequest(frame.payload);
  if (req.flags & DmaUnmapFlags.GET_DIRTY_BITMAP) fail(Errno.EINVAL, 'DMA_UNMAP dirty bitmaps are not supported');
  const payload = encodeDmaUnmapReply({ ...req, argsz: 24 });
  if (req.flags & DmaUnmapFlags.ALL) {
    releaseMappings(state.session.mappings);
    return { state: withSession(state, { mappings: emptyDmaTable }), payload };
  }
  const { table, removed } = takeMapping(state.session.mappings, req.address, req.size);
  releaseMapping(removed);
  return { state: withSession(state, { mappings: table }), payload };
};

