/**
 * Loads the compiled addon and describes its raw shape. Only this folder uses it; everything else
 * goes through the typed facade in index.ts.
 */
import { createRequire } from 'node:module';
import { NativeError } from '../protocol/errors.js';
import { packageRoot } from './root.js';

/** An error as the addon throws or reports it: the failing syscall and its errno. */
export interface RawError extends Error {
  readonly syscall: string;
  readonly errno: number;
}

/** The addon's channel object (see channel.cc). */
export interface RawChannel {
  readonly fd: number;
  readonly queuedBytes: number;
  /**
   * Returns the error of a failure that happened before start, if any. onData hears of each read
   * as the count of bytes it left at the start of `readBuffer` (valid until the callback returns).
   */
  start(
    onData: (length: number, fds: number[] | undefined, filled: boolean) => void,
    onEnd: () => void,
    onError: (err: RawError) => void,
    readBuffer: Buffer,
  ): RawError | undefined;
  /** Returns the error of a fatal socket failure, for the caller to report asynchronously. */
  send(chunks: readonly Buffer[], fds: readonly number[] | undefined): RawError | undefined;
  readInto(target: Buffer, offset: number): void;
  close(): void;
}

/** The addon's listener object (see listener.cc). */
export interface RawListener {
  readonly fd: number;
  start(onFd: (fd: number) => void, onError: (err: RawError) => void): void;
  close(): void;
}

/** The addon's readable-fd watcher (see listener.cc). */
export interface RawWatcher {
  stop(): void;
}

/** Everything the addon exports. */
export interface Addon {
  Channel: new (fd: number, maxRecvFds: number, sendBufferSize: number) => RawChannel;
  Listener: new (fd: number) => RawListener;
  Watcher: new (fd: number, onReadable: () => void) => RawWatcher;
  connect(path: string): number;
  listen(path: string, mode: number, backlog: number): number;
  socketpair(): [number, number];
  eventfd(initval: number): number;
  eventfdWrite(fd: number, value: bigint): void;
  eventfdRead(fd: number): bigint;
  memfd(name: string, size: number, sealed: boolean): number;
  fileSize(fd: number): number;
  mmap(fd: number, offset: number | bigint, length: number, prot: string): ArrayBuffer;
  munmap(buffer: ArrayBuffer): void;
  /** 4 bytes over this thread's count of mapping faults the SIGBUS handler absorbed. */
  faultCounter(): ArrayBuffer;
  dup(fd: number): number;
  close(fd: number): void;
  openFdCount(): number;
}

/** node-gyp-build's loader: the local build (build/Release) first, then a prebuild for this platform. */
type Loader = (dir: string) => unknown;

const load = (): Addon => {
  const root = packageRoot();
  const loader = createRequire(import.meta.url)('node-gyp-build') as Loader;
  try {
    return loader(root) as Addon;
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new Error(
      `vfio-user-rx: cannot load the native addon (${why}); build it with \`npm rebuild vfio-user-rx\` (in a clone: \`npm run build:native\`) ` +
        '(needs python3, make and a C++ compiler)',
    );
  }
};

/** The loaded addon (loading fails with a message naming the build command when none fits this machine). */
export const addon: Addon = load();

const isRawError = (err: unknown): err is RawError =>
  err instanceof Error &&
  typeof (err as Partial<RawError>).syscall === 'string' &&
  typeof (err as Partial<RawError>).errno === 'number';

/** Turns an addon error into a NativeError; any other value is returned unchanged. */
export const toNativeError = (err: unknown): unknown =>
  isRawError(err) && !(err instanceof NativeError) ? new NativeError(err.syscall, err.errno, err.message) : err;

/** Like toNativeError, for error channels that need an Error. */
export const asNativeError = (err: unknown): Error => {
  const converted = toNativeError(err);
  return converted instanceof Error ? converted : new Error(String(converted));
};

/** Runs an addon call, rethrowing its errors as NativeError. */
export const call = <T>(fn: () => T): T => {
  try {
    return fn();
  } catch (err) {
    throw toNativeError(err);
  }
};
