/**
 * A client's fd mapped in windows: one ArrayBuffer (and Buffer view) cannot exceed 4 GiB on
 * Node 20, while a guest RAM section can, so a mapping is a run of windows of at most 1 GiB.
 */
import type { Prot } from '../native/types.js';
import { Errno } from '../protocol/errno.js';
import { fail } from './errors.js';
import type { MappedMemory, ServerIo } from './io.js';

/** Largest single mmap the server makes. */
export const WINDOW_SIZE = 1 << 30;

/** Consecutive mapped windows of one fd range. */
export interface GuestWindows {
  readonly windows: readonly MappedMemory[];
  readonly size: number;
}

/** Maps [offset, offset + size) of `fd` in windows; on failure unmaps what was mapped and rethrows. */
export const mapWindows = (io: ServerIo, fd: number, offset: number, size: number, prot: Prot): GuestWindows => {
  const windows: MappedMemory[] = [];
  try {
    for (let at = 0; at < size; at += WINDOW_SIZE) windows.push(io.map(fd, offset + at, Math.min(WINDOW_SIZE, size - at), prot));
  } catch (err) {
    for (const w of windows) w.unmap();
    throw err;
  }
  return { windows, size };
};

/** Unmaps every window. */
export const unmapWindows = (g: GuestWindows): void => {
  for (const w of g.windows) w.unmap();
};

// Windows an access faulted in: the client shrank its file under them. The pages past the new end
// now read zeros (the native SIGBUS handler put them there), so every later access fails too.
const shrunk = new WeakSet<GuestWindows>();

const shrank = (): never => fail(Errno.EFAULT, 'the client shrank the memory behind this DMA mapping');

/**
 * Visits the window pieces of [at, at + length): (window bytes, start in window, start in the range,
 * length). EFAULT when a piece touched memory past the end of the client's file.
 */
const eachPiece = (g: GuestWindows, at: number, length: number, fn: (bytes: Buffer, from: number, done: number, n: number) => void): void => {
  if (shrunk.has(g)) shrank();
  let done = 0;
  while (done < length) {
    const pos = at + done;
    const w = g.windows[Math.floor(pos / WINDOW_SIZE)];
    if (w === undefined) throw new RangeError('access beyond the mapped windows');
    const from = pos % WINDOW_SIZE;
    const n = Math.min(length - done, w.bytes.length - from);
    // A window unmapped under a DMA that took the mapping before DMA_UNMAP reads as length 0.
    if (!(n > 0)) throw new RangeError('the mapping was unmapped during the access');
    const faults = w.faults();
    fn(w.bytes, from, done, n);
    if (w.faults() !== faults) {
      shrunk.add(g);
      shrank();
    }
    done += n;
  }
};

/** Copies `out.length` bytes at `at` out of the windows into `out` from `outAt`. */
export const copyOutInto = (g: GuestWindows, at: number, out: Buffer, outAt = 0, length = out.length - outAt): void => {
  eachPiece(g, at, length, (bytes, from, done, n) => bytes.copy(out, outAt + done, from, from + n));
};

/** Copies `data` into the windows at `at`. */
export const copyIn = (g: GuestWindows, at: number, data: Buffer): void => {
  eachPiece(g, at, data.length, (bytes, from, done, n) => data.copy(bytes, from, done, done + n));
};
