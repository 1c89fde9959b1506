import { Errno, errnoName } from '../protocol/errno.js';

/** A failure inside the device server that maps to one errno on the wire. */
export class DeviceError extends Error {
  readonly code: string = 'ERR_VFIO_USER_DEVICE';
  /** errno the failed command is answered with. */
  readonly errno: number;
  constructor(errno: number, message: string, options?: { cause?: unknown }) {
    super(`${message} (${errnoName(errno)})`, options);
    this.name = new.target.name;
    this.errno = errno;
  }
}

/** A guest memory access by device code failed: unmapped bytes, missing permission, or the client's error. */
export class DmaError extends DeviceError {
  override readonly code = 'ERR_VFIO_USER_DMA';
  readonly iova: number;
  readonly length: number;
  constructor(errno: number, iova: number, length: number, message: string, options?: { cause?: unknown }) {
    super(errno, `DMA of ${length} bytes at 0x${iova.toString(16)}: ${message}`, options);
    this.iova = iova;
    this.length = length;
  }
}

/** Throws a DeviceError; for validation one-liners. */
export const fail = (errno: number, message: string): never => {
  throw new DeviceError(errno, message);
};

/** The errno an error is answered with: its own `errno` when it has a valid one, else EIO. */
export const errnoOf = (err: unknown): number => {
  const errno = (err as { errno?: unknown } | undefined)?.errno;
  return typeof errno === 'number' && Number.isInteger(errno) && errno > 0 && errno < 4096 ? errno : Errno.EIO;
};
