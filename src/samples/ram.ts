/**
 * A RAM card: BAR 2 (64-bit, prefetchable memory) is backed by a memfd. Its first page holds
 * trapped registers (every access goes through the server); the rest is one sparse mmap area
 * the client may map, and reaches by REGION_READ/REGION_WRITE too.
 *
 * Register page (BAR 2, offsets 0x000..0xfff; 32-bit little-endian; other offsets read 0):
 *
 * | offset | name     | access | meaning                                                  |
 * |--------|----------|--------|----------------------------------------------------------|
 * | 0x00   | MAGIC    | RO     | 0x52414d21 ("RAM!")                                      |
 * | 0x04   | SIZE     | RO     | bytes of the mappable area (from offset 0x1000)          |
 * | 0x08   | SCRATCH  | RW     | free for the driver                                      |
 * | 0x0c   | FILL     | W      | fills the mappable area with the byte written; reads 0   |
 * | 0x10   | CHECKSUM | RO     | sum of the mappable area's bytes, modulo 2^32            |
 *
 * The register page is declared with `registerFile`; its handlers are plain functions over the
 * BAR's own memory (SCRATCH is stored in it), so the device keeps no state of its own; a reset
 * (not a disconnect) zeroes the memory.
 */
import { ramBar, pciDevice, registerFile, type DeviceContext, type PciDevice } from '../server/index.js';
import { EXPERIMENTAL_IDS, type SampleOptions } from './catalog.js';

/** Register offsets of the RAM card. */
export const RamReg = { MAGIC: 0x00, SIZE: 0x04, SCRATCH: 0x08, FILL: 0x0c, CHECKSUM: 0x10 } as const;

/** The MAGIC register's value. */
export const RAM_MAGIC = 0x52414d21;
const BAR = 2;
const PAGE = 4096;

const checksum = (area: Buffer): number => {
  let sum = 0;
  for (let i = 0; i < area.length; i++) sum = (sum + area[i]!) >>> 0;
  return sum;
};

/** The register page, declared once: read-only, writable and write-only (FILL) registers. */
const registers = registerFile([
  { name: 'MAGIC', offset: RamReg.MAGIC, width: 4, reset: RAM_MAGIC, writable: 0 },
  { name: 'SIZE', offset: RamReg.SIZE, width: 4, writable: 0 },
  { name: 'SCRATCH', offset: RamReg.SCRATCH, width: 4 },
  { name: 'FILL', offset: RamReg.FILL, width: 4, writeOnly: true },
  { name: 'CHECKSUM', offset: RamReg.CHECKSUM, width: 4, writable: 0 },
] as const);

const overlaps = (offset: number, count: number, reg: number): boolean => offset < reg + 4 && reg < offset + count;

/** The registers' values now: SCRATCH from the memory itself, CHECKSUM only when it is read (it sums the whole area). */
const valuesOf = (memory: Buffer, withChecksum: boolean) =>
  registers.set(registers.initial(), {
    SIZE: memory.length - PAGE,
    SCRATCH: memory.readUInt32LE(RamReg.SCRATCH),
    CHECKSUM: withChecksum ? checksum(memory.subarray(PAGE)) : 0,
  });

const read = (offset: number, count: number, ctx: DeviceContext): Buffer => {
  const memory = ctx.ram(BAR);
  return registers.read(valuesOf(memory, overlaps(offset, count, RamReg.CHECKSUM)), offset, count);
};

const write = (offset: number, data: Buffer, ctx: DeviceContext): void => {
  const memory = ctx.ram(BAR);
  const { values, changes } = registers.write(valuesOf(memory, false), offset, data);
  memory.writeUInt32LE(values.SCRATCH, RamReg.SCRATCH);
  // FILL's low byte is the fill value: a write that carries it fills the mappable area.
  if (changes.some((c) => c.name === 'FILL') && offset <= RamReg.FILL && RamReg.FILL < offset + data.length) memory.fill(data[RamReg.FILL - offset]!, PAGE);
};

/** Creates a RAM card whose BAR 2 is `size` bytes (a power of two of at least 8 KiB; default 64 KiB). */
export const ramDevice = (size = 64 * 1024, options: SampleOptions = {}): PciDevice =>
  pciDevice({
    name: 'ram',
    ids: { ...EXPERIMENTAL_IDS.ram, ...options.ids, classCode: 0x050000 },
    bars: { [BAR]: ramBar(size, { is64: true, prefetchable: true, sparse: [{ offset: PAGE, size: size - PAGE }], trap: { read, write } }) },
    reset: (reason, ctx) => {
      if (reason !== 'disconnect') ctx.ram(BAR).fill(0);
    },
  });
