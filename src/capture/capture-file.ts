/**
 * A capture file written as messages come: blocks are gathered and written together at most
 * FLUSH_MS later (or once FLUSH_BYTES are waiting), so that a tap forwarding a message does not
 * also wait for a file write per message (each is a trip through libuv's thread pool).
 */
import { createWriteStream, type WriteStream } from 'node:fs';

/** Longest a block waits before it is written. */
export const FLUSH_MS = 50;
/** Bytes that are written at once, without waiting for the timer. */
export const FLUSH_BYTES = 256 * 1024;

/** An open capture file. */
export interface CaptureFile {
  /** Takes a block (written within FLUSH_MS). */
  write(block: Buffer): void;
  /** Writes what is waiting and closes the file; resolves once it is on disk. */
  close(): Promise<void>;
}

/** Opens (creates or truncates) a capture file; rejects with the open error (ENOENT, EACCES...). */
export const openCaptureFile = async (path: string): Promise<CaptureFile> => {
  const stream: WriteStream = createWriteStream(path);
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', reject);
  });
  let waiting: Buffer[] = [];
  let bytes = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (waiting.length === 0) return;
    stream.write(waiting.length === 1 ? waiting[0]! : Buffer.concat(waiting, bytes));
    waiting = [];
    bytes = 0;
  };
  return {
    write: (block) => {
      waiting.push(block);
      bytes += block.length;
      if (bytes >= FLUSH_BYTES) flush();
      else timer ??= setTimeout(flush, FLUSH_MS);
    },
    close: () => {
      flush();
      return new Promise<void>((resolve) => stream.end(resolve));
    },
  };
};
