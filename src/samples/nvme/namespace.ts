/**
 * The namespace's blocks: in anonymous memory, or in a file (a disk image) that the device's writes
 * reach as they happen and that Flush syncs to stable storage.
 */
import { closeSync, constants, fdatasync, fstatSync, ftruncateSync, openSync, read, write } from 'node:fs';
import { Observable, of } from 'rxjs';

/** Bytes of storage, addressed by byte offset (the controller turns LBAs into offsets). */
export interface BlockStore {
  /** Size in bytes. */
  readonly size: number;
  /** What backs it, for logs: 'memory' or the file's path. */
  readonly description: string;
  /**
   * Whether its bytes travel in the controller's migration data: yes for memory, no for a file
   * (shared storage: the destination opens the same file, as a VM's disk image stays where it is).
   */
  readonly migrates: boolean;
  read(offset: number, length: number): Observable<Buffer>;
  write(offset: number, data: Buffer): Observable<void>;
  /** Makes a range read back as zeros (Write Zeroes, deallocation). */
  zero(offset: number, length: number): Observable<void>;
  /** Makes what was written durable. */
  flush(): Observable<void>;
  /** Releases the file (a memory store has nothing to release). */
  close(): void;
}

const checkRange = (size: number, offset: number, length: number): void => {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size)
    throw new RangeError(`bytes ${offset}+${length} are outside a store of ${size}`);
};

/** Storage in anonymous memory: it lives as long as the process. */
export const memoryStore = (size: number): BlockStore => {
  if (!Number.isSafeInteger(size) || size <= 0) throw new RangeError(`store size ${size}`);
  const bytes = Buffer.alloc(size);
  return {
    size,
    description: 'memory',
    migrates: true,
    read: (offset, length) => {
      checkRange(size, offset, length);
      return of(bytes.subarray(offset, offset + length));
    },
    write: (offset, data) => {
      checkRange(size, offset, data.length);
      data.copy(bytes, offset);
      return of(undefined);
    },
    zero: (offset, length) => {
      checkRange(size, offset, length);
      bytes.fill(0, offset, offset + length);
      return of(undefined);
    },
    flush: () => of(undefined),
    close: () => undefined,
  };
};

/** One call of a callback-style fs function as an Observable of its result. */
const fsCall = <T>(start: (done: (err: NodeJS.ErrnoException | null, value: T) => void) => void): Observable<T> =>
  new Observable<T>((out) => {
    start((err, value) => {
      if (err) out.error(err);
      else {
        out.next(value);
        out.complete();
      }
    });
  });

/** Reads until `length` bytes are in (a file read may return fewer), zeros past the file's end. */
const readFully = (fd: number, target: Buffer, position: number): Observable<Buffer> =>
  new Observable<Buffer>((out) => {
    const step = (done: number): void => {
      if (done === target.length) {
        out.next(target);
        out.complete();
        return;
      }
      read(fd, target, done, target.length - done, position + done, (err, n) => {
        if (err) out.error(err);
        else if (n === 0) {
          target.fill(0, done);
          step(target.length);
        } else step(done + n);
      });
    };
    step(0);
  });

const writeFully = (fd: number, data: Buffer, position: number): Observable<void> =>
  new Observable<void>((out) => {
    const step = (done: number): void => {
      if (done === data.length) {
        out.next();
        out.complete();
        return;
      }
      write(fd, data, done, data.length - done, position + done, (err, n) => (err ? out.error(err) : step(done + n)));
    };
    step(0);
  });

/** Largest run of zeros written at once by `zero`. */
const ZERO_CHUNK = 1 << 20;

/**
 * Storage in a file, opened read-write (created when missing). Its size is `size` when given (the
 * file grows to it if shorter), else the file's; a file that ends up empty is refused.
 */
export const fileStore = (path: string, size?: number): BlockStore => {
  if (size !== undefined && (!Number.isSafeInteger(size) || size <= 0)) throw new RangeError(`store size ${size}`);
  const fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o644);
  try {
    const length = fstatSync(fd).size;
    const actual = size ?? length;
    if (actual <= 0) throw new RangeError(`${path} is empty: give a size`);
    if (length < actual) ftruncateSync(fd, actual);
    const zeros = Buffer.alloc(Math.min(ZERO_CHUNK, actual));
    let closed = false;
    return {
      size: actual,
      description: path,
      migrates: false,
      read: (offset, n) => {
        checkRange(actual, offset, n);
        return readFully(fd, Buffer.allocUnsafe(n), offset);
      },
      write: (offset, data) => {
        checkRange(actual, offset, data.length);
        return writeFully(fd, data, offset);
      },
      zero: (offset, n) => {
        checkRange(actual, offset, n);
        return new Observable<void>((out) => {
          const step = (done: number): void => {
            if (done === n) {
              out.next();
              out.complete();
              return;
            }
            const chunk = Math.min(zeros.length, n - done);
            write(fd, zeros, 0, chunk, offset + done, (err, written) => (err ? out.error(err) : step(done + written)));
          };
          step(0);
        });
      },
      flush: () => fsCall<void>((done) => fdatasync(fd, (err) => done(err, undefined))),
      close: () => {
        if (closed) return;
        closed = true;
        closeSync(fd);
      },
    };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
};
