/**
 * What an fd we hold is, from /proc/self/fd (the link names the kernel gives: `/memfd:NAME (deleted)`,
 * `anon_inode:[eventfd]`, `socket:[INODE]`) and fstat for sizes. For monitoring: a failure to
 * look is an `other` answer, never an exception.
 */
import { readlinkSync } from 'node:fs';
import type { FdInfo } from '../protocol/fd-info.js';
import { addon, call } from './addon.js';

const MEMFD = /^\/memfd:(.*?)(?: \(deleted\))?$/;

const sizeOf = (fd: number): number => {
  try {
    return call(() => addon.fileSize(fd));
  } catch {
    return 0;
  }
};

/** Describes an open fd of this process. */
export const describeFd = (fd: number): FdInfo => {
  let target: string;
  try {
    target = readlinkSync(`/proc/self/fd/${fd}`);
  } catch (err) {
    return { kind: 'other', target: `unreadable (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  const memfd = MEMFD.exec(target);
  if (memfd) return { kind: 'memfd', name: memfd[1]!, size: sizeOf(fd) };
  if (target === 'anon_inode:[eventfd]') return { kind: 'eventfd' };
  if (target.startsWith('socket:')) return { kind: 'socket' };
  if (target.startsWith('/')) return { kind: 'file', path: target, size: sizeOf(fd) };
  return { kind: 'other', target };
};
