import type { Channel, Native, Prot } from '../native/types.js';

/** Memory mapped from an fd: a view of it, and the function that unmaps it (the view then drops to length 0). */
export interface MappedMemory {
  readonly bytes: Buffer;
  unmap(): void;
  /** The count of mapping faults (accesses past the end of a file a peer shrank): compared around an access, it tells that one faulted. */
  faults(): number;
}

/**
 * The side effects a device server performs on the OS, behind one small interface so that the
 * whole server can run against a fake (see testing/fake-io.ts) in marble tests.
 */
export interface ServerIo {
  /** Signals an eventfd (adds 1 to its counter). */
  signal(fd: number): void;
  /** Closes an fd; an fd already closed is ignored. */
  close(fd: number): void;
  /** Maps `length` bytes of `fd` from `offset` with MAP_SHARED. */
  map(fd: number, offset: number, length: number, prot: Prot): MappedMemory;
  /** Size of the file behind an fd. */
  fileSize(fd: number): number;
  /** Creates a memfd of `size` bytes. */
  memfd(name: string, size: number): number;
  /** A connected socket pair (for the twin socket). */
  socketpair(): [number, number];
  /** Wraps a connected socket fd as a channel (takes ownership). */
  channelFromFd(fd: number): Channel;
}

/** The ServerIo of the native layer. */
export const nativeIo = (n: Native): ServerIo => ({
  signal: (fd) => n.eventfdWrite(fd, 1n),
  close: (fd) => n.close(fd),
  map: (fd, offset, length, prot) => {
    const buffer = n.mmap(fd, offset, length, prot);
    return { bytes: Buffer.from(buffer), unmap: () => n.munmap(buffer), faults: n.mappingFaults };
  },
  fileSize: (fd) => n.fileSize(fd),
  memfd: (name, size) => n.memfd(name, size),
  socketpair: () => n.socketpair(),
  channelFromFd: (fd) => n.channelFromFd(fd),
});
