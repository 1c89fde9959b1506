/** Fields computed by the encoder (argsz) that a caller may still override. */
export type ArgszOptional<T extends { argsz: number }> = Omit<T, 'argsz'> & { readonly argsz?: number };

const checkInteger = (field: string, value: number, max: number): void => {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${field}: ${value} is not an integer in [0, ${max}]`);
  }
};

/** Writes a u16, rejecting values that do not fit (a programming error on the sending side). */
export const putU16 = (buf: Buffer, offset: number, value: number, field: string): void => {
  checkInteger(field, value, 0xffff);
  buf.writeUInt16LE(value, offset);
};

/** Writes a u32, rejecting values that do not fit. */
export const putU32 = (buf: Buffer, offset: number, value: number, field: string): void => {
  checkInteger(field, value, 0xffffffff);
  buf.writeUInt32LE(value, offset);
};

/** Writes a u64 from a Number, which must be a safe non-negative integer. */
export const putU64 = (buf: Buffer, offset: number, value: number, field: string): void => {
  checkInteger(field, value, Number.MAX_SAFE_INTEGER);
  // Two u32 halves rather than a BigInt (the value is a safe integer, so both are exact).
  buf.writeUInt32LE(value % 0x1_0000_0000, offset);
  buf.writeUInt32LE(Math.floor(value / 0x1_0000_0000), offset + 4);
};

/** Throws a RangeError for an encoder input that the protocol cannot express. */
export const invalidInput = (command: string, field: string, message: string): never => {
  throw new RangeError(`${command}: ${field}: ${message}`);
};

/** Stores a u32 already known to be in range at `at` of `buf`, little-endian, byte by byte (no checks: hot paths). */
export const putU32At = (buf: Buffer, at: number, x: number): void => {
  buf[at] = x;
  buf[at + 1] = x >>> 8;
  buf[at + 2] = x >>> 16;
  buf[at + 3] = x >>> 24;
};
