/** Linux errno numbers used on the wire, and their names. */
import { constants as osConstants } from 'node:os';

export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  E2BIG: 7,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENOSPC: 28,
  ERANGE: 34,
  ENOSYS: 38,
  EPROTO: 71,
  EOVERFLOW: 75,
  EOPNOTSUPP: 95,
  ECONNRESET: 104,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
} as const;
export type ErrnoName = keyof typeof Errno;

// Every name Node knows for this platform (Linux: the wire's numbers), with the table above first
// where two names share a number (EAGAIN, not EWOULDBLOCK; EOPNOTSUPP, not ENOTSUP).
const names = new Map<number, string>([
  ...Object.entries(osConstants.errno).reverse().map(([k, v]): [number, string] => [v, k]),
  ...Object.entries(Errno).map(([k, v]): [number, string] => [v, k]),
]);
/** The name of an errno number (ENOTDIR, ENAMETOOLONG...), or `E<n>` for one no table knows. */
export const errnoName = (n: number): string => names.get(n) ?? `E${n}`;
