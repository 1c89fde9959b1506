/** An in-memory ServerIo: fake fds for files, memfds and eventfds, so a device runs without the OS. */
import { Observable, Subject } from 'rxjs';
import type { Channel } from '../../native/types.js';
import type { MappedMemory, ServerIo } from '../io.js';

/** The fake, with what a test needs to see: which fds were signalled and which are still open. */
export interface FakeIo extends ServerIo {
  /** Every eventfd signal, as the fd signalled. */
  readonly signals$: Observable<number>;
  /** A fake file holding `bytes` (shared: the server's mapping of it writes into them). */
  file(bytes: Buffer): number;
  /** A fake eventfd. */
  eventfd(): number;
  /** A new fd for the same file, as SCM_RIGHTS gives the receiver. */
  dup(fd: number): number;
  /** Whether `fd` is open. */
  isOpen(fd: number): boolean;
  /** fds open now, files, memfds and eventfds alike. */
  openFds(): number[];
}

/** Creates a fake I/O layer; fd numbers start at 1000 so they never look like real ones. */
export const fakeIo = (): FakeIo => {
  const files = new Map<number, Buffer | undefined>();
  const signals = new Subject<number>();
  let next = 1000;
  const open = (bytes?: Buffer): number => {
    files.set(next, bytes);
    return next++;
  };
  const bytesOf = (fd: number): Buffer => {
    const bytes = files.get(fd);
    if (bytes === undefined) throw Object.assign(new Error(`fake fd ${fd} is not an open file`), { errno: 9 });
    return bytes;
  };
  const map = (fd: number, offset: number, length: number): MappedMemory => {
    const view = bytesOf(fd).subarray(offset, offset + length);
    let bytes = view;
    // Unmapping leaves a length-0 view, as the native munmap does.
    return { get bytes() { return bytes; }, unmap: () => void (bytes = view.subarray(0, 0)), faults: () => 0 };
  };
  const unsupported = (what: string) => (): never => {
    throw new Error(`${what} is not available in the fake I/O layer`);
  };
  return {
    signals$: signals.asObservable(),
    file: (bytes) => open(bytes),
    eventfd: () => open(),
    dup: (fd) => {
      if (!files.has(fd)) throw Object.assign(new Error(`fake fd ${fd} is closed`), { errno: 9 });
      return open(files.get(fd));
    },
    isOpen: (fd) => files.has(fd),
    openFds: () => [...files.keys()],
    signal: (fd) => {
      if (!files.has(fd)) throw Object.assign(new Error(`fake fd ${fd} is closed`), { errno: 9 });
      signals.next(fd);
    },
    close: (fd) => void files.delete(fd),
    map,
    fileSize: (fd) => bytesOf(fd).length,
    memfd: (_name, size) => open(Buffer.alloc(size)),
    socketpair: unsupported('socketpair') as () => [number, number],
    channelFromFd: unsupported('channelFromFd') as (fd: number) => Channel,
  };
};
