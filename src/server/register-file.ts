/**
 * A register file for device authors: named registers of 1, 2 or 4 bytes at their offsets, with
 * the access rules hardware has (read-only, write-only, writable bits, write-1-to-clear, write-1-to-
 * set), served from immutable values. A write reports what it changed and what was written, so a
 * device's fold reacts to a doorbell or a control bit without decoding offsets itself.
 */

/** One register. */
export interface RegisterSpec<N extends string = string> {
  readonly name: N;
  readonly offset: number;
  readonly width: 1 | 2 | 4;
  /** Value at creation and reset (default 0). */
  readonly reset?: number;
  /** Bits the guest may write (default: every bit; 0 makes it read-only). */
  readonly writable?: number;
  /** Bits the guest clears by writing 1 (RW1C). */
  readonly rw1c?: number;
  /** Bits the guest sets by writing 1 (RW1S). */
  readonly rw1s?: number;
  /** Reads as 0 and keeps no value: a doorbell or a command port (its writes show in the changes). */
  readonly writeOnly?: boolean;
}

/** The values of a register file by name (a plain object; a new one for every change). */
export type RegisterValues<N extends string> = Readonly<Record<N, number>>;

/** What a guest write did to one register it touched. */
export interface RegisterChange<N extends string> {
  readonly name: N;
  readonly before: number;
  readonly after: number;
  /** The bits the guest wrote (in the bytes it wrote), whatever the rules kept of them. */
  readonly written: number;
}

/** The layout of a register file and its pure operations. */
export interface RegisterFile<N extends string> {
  /** Size in bytes: one past the last register's last byte. */
  readonly size: number;
  /** Every register at its reset value. */
  initial(): RegisterValues<N>;
  /** `count` bytes at `offset`: each register's bytes (write-only ones and gaps read 0). */
  read(values: RegisterValues<N>, offset: number, count: number): Buffer;
  /** A guest write of `data` at `offset`: the new values and the registers it touched, in address order. */
  write(values: RegisterValues<N>, offset: number, data: Buffer): { readonly values: RegisterValues<N>; readonly changes: readonly RegisterChange<N>[] };
  /** The device sets registers itself (status, counters): no guest rules apply. */
  set(values: RegisterValues<N>, patch: Partial<Record<N, number>>): RegisterValues<N>;
  /** Every register's value as bytes at its offset (write-only ones as 0): for migration. */
  image(values: RegisterValues<N>): Buffer;
  /** Values from an image made by `image` (RangeError when its size is not the file's). */
  fromImage(image: Buffer): RegisterValues<N>;
}

const maskOf = (width: number): number => (width === 4 ? 0xffffffff : (1 << (8 * width)) - 1);

/** Builds a register file; RangeError for overlapping registers or a duplicate name. */
export const registerFile = <N extends string>(specs: readonly RegisterSpec<N>[]): RegisterFile<N> => {
  const sorted = [...specs].sort((a, b) => a.offset - b.offset);
  const names = new Set<string>();
  for (let i = 0; i < sorted.length; i++) {
    const r = sorted[i]!;
    if (names.has(r.name)) throw new RangeError(`register ${r.name} is declared twice`);
    names.add(r.name);
    if (!Number.isInteger(r.offset) || r.offset < 0) throw new RangeError(`register ${r.name}: offset ${r.offset}`);
    const next = sorted[i + 1];
    if (next && r.offset + r.width > next.offset) throw new RangeError(`registers ${r.name} and ${next.name} overlap`);
  }
  const size = sorted.reduce((end, r) => Math.max(end, r.offset + r.width), 0);
  // The register holding each byte, for byte-granular accesses.
  const byByte: (RegisterSpec<N> | undefined)[] = new Array(size).fill(undefined);
  for (const r of sorted) for (let b = 0; b < r.width; b++) byByte[r.offset + b] = r;

  const initial = (): RegisterValues<N> => Object.fromEntries(sorted.map((r) => [r.name, r.writeOnly ? 0 : ((r.reset ?? 0) & maskOf(r.width)) >>> 0])) as RegisterValues<N>;

  const read = (values: RegisterValues<N>, offset: number, count: number): Buffer => {
    const out = Buffer.alloc(count);
    for (let i = 0; i < count; i++) {
      const r = byByte[offset + i];
      if (!r || r.writeOnly) continue;
      out[i] = (values[r.name] >>> (8 * (offset + i - r.offset))) & 0xff;
    }
    return out;
  };

  const write = (values: RegisterValues<N>, offset: number, data: Buffer) => {
    // The bytes written to each register touched, as a value and a mask of the lanes written.
    const touched = new Map<RegisterSpec<N>, { written: number; lanes: number }>();
    for (let i = 0; i < data.length; i++) {
      const r = byByte[offset + i];
      if (!r) continue;
      const shift = 8 * (offset + i - r.offset);
      const t = touched.get(r) ?? { written: 0, lanes: 0 };
      t.written = (t.written | (data[i]! << shift)) >>> 0;
      t.lanes = (t.lanes | (0xff << shift)) >>> 0;
      touched.set(r, t);
    }
    if (touched.size === 0) return { values, changes: [] };
    const next: Record<string, number> = { ...values };
    const changes: RegisterChange<N>[] = [];
    for (const [r, { written, lanes }] of touched) {
      const before = values[r.name];
      const w = written & lanes;
      const rw1c = (r.rw1c ?? 0) & lanes;
      const rw1s = (r.rw1s ?? 0) & lanes;
      const plain = (r.writable ?? maskOf(r.width)) & lanes & ~rw1c & ~rw1s;
      let after = r.writeOnly ? 0 : ((before & ~plain) | (w & plain)) >>> 0;
      if (!r.writeOnly) after = ((after & ~(w & rw1c)) | (w & rw1s)) >>> 0;
      next[r.name] = after;
      changes.push({ name: r.name, before, after, written: w >>> 0 });
    }
    return { values: next as RegisterValues<N>, changes };
  };

  const set = (values: RegisterValues<N>, patch: Partial<Record<N, number>>): RegisterValues<N> => {
    const next: Record<string, number> = { ...values };
    for (const r of sorted) {
      const v = patch[r.name];
      if (v !== undefined) next[r.name] = r.writeOnly ? 0 : (v & maskOf(r.width)) >>> 0;
    }
    return next as RegisterValues<N>;
  };

  const image = (values: RegisterValues<N>): Buffer => read(values, 0, size);

  const fromImage = (bytes: Buffer): RegisterValues<N> => {
    if (bytes.length !== size) throw new RangeError(`a register image of ${bytes.length} bytes, the file has ${size}`);
    const next: Record<string, number> = {};
    for (const r of sorted) next[r.name] = r.writeOnly ? 0 : bytes.readUIntLE(r.offset, r.width);
    return next as RegisterValues<N>;
  };

  return { size, initial, read, write, set, image, fromImage };
};
