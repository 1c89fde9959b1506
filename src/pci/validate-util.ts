import { PciDescriptionError } from './types.js';

/** Throws a PciDescriptionError for `field` unless `ok`. */
export function ensure(ok: boolean, field: string, problem: string): asserts ok {
  if (!ok) throw new PciDescriptionError(field, problem);
}

/** Whether `v` is an integer that fits in `bits` unsigned bits. */
export const isUint = (v: unknown, bits: number): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 2 ** bits;

/** Whether `n` is a safe integer power of two. */
export const isPowerOfTwo = (n: unknown): n is number =>
  typeof n === 'number' && Number.isSafeInteger(n) && n > 0 && 2 ** Math.round(Math.log2(n)) === n;

/** Checks that `v` is an unsigned integer of `bits` bits, naming `field` otherwise. */
export const ensureUint = (v: unknown, bits: number, field: string): void =>
  ensure(isUint(v, bits), field, `${String(v)} is not an unsigned ${bits}-bit integer`);

/** Checks an optional write mask has exactly the length of the bytes it covers. */
export const ensureMaskFits = (mask: Buffer | undefined, bytes: Buffer, field: string): void => {
  ensure(Buffer.isBuffer(bytes), `${field}.bytes`, 'must be a Buffer');
  if (mask === undefined) return;
  ensure(Buffer.isBuffer(mask), `${field}.writeMask`, 'must be a Buffer');
  ensure(mask.length === bytes.length, `${field}.writeMask`, `length ${mask.length} differs from bytes length ${bytes.length}`);
};
