/**
 * MSI-X table and pending-bit array emulation, as pure functions: the table is guest-writable
 * memory of 16 bytes per vector; the PBA is read-only and reflects the pending bits.
 */
import { MSIX_ENTRY_SIZE, msixPbaSize } from '../pci/index.js';

/** Offset of Vector Control inside a table entry; its bit 0 is the vector's Mask bit. */
const VECTOR_CONTROL = 12;
/** Guest-writable bits of the four dwords of an entry: address (dword aligned), upper address, data, Mask. */
const ENTRY_WRITE_MASK = [0xfffffffc, 0xffffffff, 0xffffffff, 0x00000001];

/**
 * A table of `vectors` entries. Vector Control resets to 0 (unmasked) here, unlike the 1 PCI
 * specifies: clients such as QEMU emulate the guest-visible table themselves and never write
 * this one, so vectors masked at reset would never deliver to them. A client that drives this
 * table masks what it wants.
 */
export const emptyMsixTable = (vectors: number): Buffer => Buffer.alloc(vectors * MSIX_ENTRY_SIZE);

/** Whether vector `n`'s Mask bit is set. */
export const vectorMasked = (table: Buffer, n: number): boolean => ((table[n * MSIX_ENTRY_SIZE + VECTOR_CONTROL] ?? 0) & 1) !== 0;

/** Reads `count` bytes of the table at `offset`. */
export const readMsixTable = (table: Buffer, offset: number, count: number): Buffer =>
  Buffer.from(table.subarray(offset, offset + count));

/** A new table with a guest write applied through the entries' write masks. */
export const writeMsixTable = (table: Buffer, offset: number, data: Buffer): Buffer => {
  const next = Buffer.from(table);
  data.forEach((byte, i) => {
    const at = offset + i;
    const dword = ENTRY_WRITE_MASK[Math.floor((at % MSIX_ENTRY_SIZE) / 4)]!;
    const mask = (dword >>> ((at % 4) * 8)) & 0xff;
    next[at] = ((next[at]! & ~mask) | (byte & mask)) & 0xff;
  });
  return next;
};

/** Reads `count` bytes of the PBA at `offset`: bit n of the little-endian array is vector n's pending bit. */
export const readPba = (pending: bigint, vectors: number, offset: number, count: number): Buffer => {
  const pba = Buffer.alloc(msixPbaSize(vectors));
  for (let byte = 0; byte < pba.length; byte++) pba[byte] = Number((pending >> BigInt(byte * 8)) & 0xffn);
  return Buffer.from(pba.subarray(offset, offset + count));
};
