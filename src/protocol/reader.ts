import { Errno } from './errno.js';
import { MalformedMessageError } from './errors.js';

/** The largest high half of a u64 that stays a safe integer (2^53 - 1 has 0x1fffff there). */
const HIGH_SAFE = 0x1fffff;

/**
 * A bounds-checked little-endian view of one message payload: every failure is a
 * MalformedMessageError naming the command and the field, so a server can answer with its errno.
 */
export class PayloadReader {
  /** Creates a reader for `payload` (the bytes after the header) of `command`. */
  constructor(
    readonly command: string,
    readonly payload: Buffer,
  ) {}

  /** Payload length in bytes. */
  get length(): number {
    return this.payload.length;
  }

  /** Throws a MalformedMessageError for `field`. */
  fail(field: string, message: string, errno: number = Errno.EINVAL): never {
    throw new MalformedMessageError(this.command, field, message, errno);
  }

  /** Fails with field 'payload' (or `field`) unless at least `bytes` bytes are present. */
  need(bytes: number, what = 'payload'): this {
    if (this.payload.length < bytes) {
      this.fail(what, `${this.payload.length} bytes, need at least ${bytes}`);
    }
    return this;
  }

  /** Fails unless the payload is exactly `bytes` long. */
  exactly(bytes: number): this {
    if (this.payload.length !== bytes) this.fail('payload', `${this.payload.length} bytes, expected ${bytes}`);
    return this;
  }

  /** Fails with E2BIG when a reply is longer than the argsz its request allowed (if known). */
  fits(requestArgsz: number | undefined): this {
    if (requestArgsz !== undefined && this.payload.length > requestArgsz) {
      this.fail('argsz', `reply of ${this.payload.length} bytes exceeds the request's argsz ${requestArgsz}`, Errno.E2BIG);
    }
    return this;
  }

  /** Fails unless a reply field echoes the request's value (when a request is given). */
  echo(field: string, got: number, expected: number | undefined): this {
    if (expected !== undefined && got !== expected) this.fail(field, `${got} does not echo the request's ${expected}`);
    return this;
  }

  /** Reads a u16 at `offset`. */
  u16(offset: number, field: string): number {
    this.within(offset, 2, field);
    return this.payload.readUInt16LE(offset);
  }

  /** Reads a u32 at `offset`. */
  u32(offset: number, field: string): number {
    this.within(offset, 4, field);
    return this.payload.readUInt32LE(offset);
  }

  /** Reads a u64 at `offset` as a Number; values above 2^53-1 fail with EOVERFLOW. */
  u64(offset: number, field: string): number {
    this.within(offset, 8, field);
    // Two u32 halves rather than a BigInt: every offset and address of the hot path comes through here.
    const lo = this.payload.readUInt32LE(offset);
    const hi = this.payload.readUInt32LE(offset + 4);
    if (hi > HIGH_SAFE) {
      this.fail(field, `0x${this.payload.readBigUInt64LE(offset).toString(16)} exceeds 2^53-1`, Errno.EOVERFLOW);
    }
    return hi * 0x1_0000_0000 + lo;
  }

  /** A view (not a copy) of `length` bytes at `offset`. */
  bytes(offset: number, length: number, field: string): Buffer {
    this.within(offset, length, field);
    return this.payload.subarray(offset, offset + length);
  }

  private within(offset: number, size: number, field: string): void {
    if (offset + size > this.payload.length) {
      this.fail('payload', `${this.payload.length} bytes, ${field} needs ${offset + size}`);
    }
  }
}

/** Starts reading `payload` of `command`. */
export const reader = (command: string, payload: Buffer): PayloadReader => new PayloadReader(command, payload);

/** Checks that a command or reply defined without payload has none. */
export const expectEmpty = (command: string, payload: Buffer): void => {
  if (payload.length !== 0) {
    throw new MalformedMessageError(command, 'payload', `${payload.length} bytes where none are defined`);
  }
};

// Hot paths (every header, every register access) read fields whose bounds they have checked
// already: byte loads cost a fraction of Buffer's read methods, which check again.
/** The u16 at `at` of `buf`, little-endian; the caller has checked that it lies inside. */
export const u16At = (buf: Buffer, at: number): number => buf[at]! | (buf[at + 1]! << 8);
/** The u32 at `at` of `buf`, little-endian; the caller has checked that it lies inside. */
export const u32At = (buf: Buffer, at: number): number => (buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16)) + buf[at + 3]! * 0x1000000;
