import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  PciConfig,
  PciStatus,
  buildConfigSpace,
  pokeConfig,
  readConfig,
  resetConfig,
  setInterruptStatus,
  writeConfig,
  type ConfigSpace,
} from '../../src/pci/index.js';
import { conventional, express, le } from './fixtures.js';

const ONES = Buffer.from('ffffffff', 'hex');
const dword = (s: ConfigSpace, off: number): number => readConfig(s, off, 4).readUInt32LE(0);
const word = (s: ConfigSpace, off: number): number => readConfig(s, off, 2).readUInt16LE(0);
const write = (s: ConfigSpace, off: number, data: Buffer): ConfigSpace => writeConfig(s, off, data).space;

/** uvu calls a function `expected` as a predicate, so a bare class would pass vacuously. */
const isRangeError = (e: unknown): boolean => e instanceof RangeError;

test('sizes a 32-bit memory BAR: all ones read back as the size mask with the type bits', () => {
  const s = write(buildConfigSpace(express), PciConfig.BAR3, ONES);
  assert.is(dword(s, PciConfig.BAR3), 0xfffff000);
  assert.is((~(dword(s, PciConfig.BAR3) & ~0xf) + 1) >>> 0, 0x1000);
});

test('sizes a 64-bit prefetchable BAR across two dwords', () => {
  let s = write(buildConfigSpace(express), PciConfig.BAR0, ONES);
  s = write(s, PciConfig.BAR1, ONES);
  assert.is(dword(s, PciConfig.BAR0), 0xffffc00c, 'type bits 64-bit|prefetchable stay');
  assert.is(dword(s, PciConfig.BAR1), 0xffffffff);
  const mask = (BigInt(dword(s, PciConfig.BAR1)) << 32n) | BigInt((dword(s, PciConfig.BAR0) & ~0xf) >>> 0);
  assert.is((~mask & 0xffffffffffffffffn) + 1n, 0x4000n);
});

test('a 64-bit BAR of 8 GiB reports its size in the upper dword', () => {
  const s0 = buildConfigSpace({ ids: { vendorId: 1, deviceId: 2, classCode: 0 }, bars: [{ index: 2, size: 2 ** 33, kind: 'memory', is64: true }] });
  const s = write(write(s0, PciConfig.BAR2, ONES), PciConfig.BAR3, ONES);
  assert.is(dword(s, PciConfig.BAR2), 0x00000004);
  assert.is(dword(s, PciConfig.BAR3), 0xfffffffe);
});

test('sizes an I/O BAR: bit 0 stays 1, bit 1 stays 0', () => {
  const s = write(buildConfigSpace(express), PciConfig.BAR2, ONES);
  assert.is(dword(s, PciConfig.BAR2), 0xffffff01);
  assert.is(dword(write(s, PciConfig.BAR2, le(0, 4)), PciConfig.BAR2), 0x00000001);
});

test('sizes the expansion ROM, whose enable bit is writable', () => {
  let s = write(buildConfigSpace(express), PciConfig.ROM_ADDRESS, le(0xfffff800, 4));
  assert.is(dword(s, PciConfig.ROM_ADDRESS), 0xfffc0000);
  s = write(s, PciConfig.ROM_ADDRESS, ONES);
  assert.is(dword(s, PciConfig.ROM_ADDRESS), 0xfffc0001);
});

test('an unimplemented BAR and the ROM of a ROM-less device read 0 after all ones', () => {
  const s0 = buildConfigSpace({ ids: { vendorId: 1, deviceId: 2, classCode: 0 } });
  const s = write(write(s0, PciConfig.BAR4, ONES), PciConfig.ROM_ADDRESS, ONES);
  assert.is(dword(s, PciConfig.BAR4), 0);
  assert.is(dword(s, PciConfig.ROM_ADDRESS), 0);
});

test('programming BARs and the ROM reports decoded addresses', () => {
  const s = buildConfigSpace(express);
  const lo = writeConfig(s, PciConfig.BAR0, le(0xfe00400c, 4));
  assert.equal(lo.effects, [{ kind: 'bar', index: 0, address: 0xfe004000n }]);
  const hi = writeConfig(lo.space, PciConfig.BAR1, le(0x1, 4));
  assert.equal(hi.effects, [{ kind: 'bar', index: 0, address: 0x1fe004000n }]);
  assert.equal(writeConfig(s, PciConfig.BAR2, le(0xc001, 4)).effects, [{ kind: 'bar', index: 2, address: 0xc000n }]);
  assert.equal(writeConfig(s, PciConfig.ROM_ADDRESS, le(0xfeb80001, 4)).effects, [
    { kind: 'rom', address: 0xfeb80000, enabled: true },
  ]);
});

test('command: only the implemented bits are writable, and the change is reported', () => {
  const r = writeConfig(buildConfigSpace(express), PciConfig.COMMAND, le(0xffff, 2));
  assert.is(word(r.space, PciConfig.COMMAND), 0x0547);
  assert.equal(r.effects, [{ kind: 'command', value: 0x0547, previous: 0 }]);
});

test('status error bits are RW1C: writing 1 clears exactly those bits, writing 0 keeps them', () => {
  const s = pokeConfig(buildConfigSpace(express), PciConfig.STATUS, le(PciStatus.RW1C | PciStatus.CAP_LIST, 2));
  assert.is(word(write(s, PciConfig.STATUS, le(0, 2)), PciConfig.STATUS), 0xf910);
  assert.is(word(write(s, PciConfig.STATUS, le(PciStatus.REC_MASTER_ABORT, 2)), PciConfig.STATUS), 0xd910);
  assert.is(word(write(s, PciConfig.STATUS, le(0xffff, 2)), PciConfig.STATUS), PciStatus.CAP_LIST, 'CAP_LIST is read-only');
});

test('read-only header fields stay after all-ones writes over the whole header', () => {
  const s0 = buildConfigSpace(express);
  const s = write(s0, 0, Buffer.alloc(0x40, 0xff));
  for (const [off, len] of [[0x00, 4], [0x08, 4], [0x0e, 2], [0x2c, 4], [0x34, 1], [0x3d, 3]] as const) {
    assert.equal(readConfig(s, off, len), readConfig(s0, off, len), `offset 0x${off.toString(16)}`);
  }
  assert.is(s.bytes[PciConfig.INTERRUPT_LINE], 0xff, 'interrupt line is writable');
  assert.is(s.bytes[PciConfig.CACHE_LINE], 0xff, 'cache line size is writable');
  assert.is(s.bytes[PciConfig.LATENCY], 0, 'PCIe hardwires the latency timer');
  assert.is(write(buildConfigSpace(conventional), PciConfig.LATENCY, Buffer.of(0x40)).bytes[PciConfig.LATENCY], 0x40);
});

test('byte, word and dword writes land on the same bits', () => {
  const s = buildConfigSpace(express);
  const byBytes = [0x00, 0x50, 0xe0, 0xfe].reduce((acc, b, i) => write(acc, PciConfig.BAR3 + i, Buffer.of(b)), s);
  const byWords = write(write(s, PciConfig.BAR3, le(0x5000, 2)), PciConfig.BAR3 + 2, le(0xfee0, 2));
  const byDword = write(s, PciConfig.BAR3, le(0xfee05000, 4));
  for (const x of [byBytes, byWords, byDword]) assert.is(dword(x, PciConfig.BAR3), 0xfee05000);
});

test('a write straddling registers applies each byte under its own mask', () => {
  // 0x3a..0x3d: two reserved bytes, the RW interrupt line, the RO interrupt pin.
  const s = write(buildConfigSpace(express), 0x3a, le(0xffffffff, 4));
  assert.is(readConfig(s, 0x3a, 4).toString('hex'), '0000ff01');
  // A dword at COMMAND also writes STATUS: command bits set, RW1C bits cleared, CAP_LIST kept.
  const dirty = pokeConfig(buildConfigSpace(express), PciConfig.STATUS, le(0x8010, 2));
  const r = writeConfig(dirty, PciConfig.COMMAND, le(0x80000006, 4));
  assert.is(dword(r.space, PciConfig.COMMAND), 0x00100006);
  assert.equal(r.effects, [{ kind: 'command', value: 6, previous: 0 }]);
});

test('a write that changes nothing returns the same space and no effects', () => {
  const s = buildConfigSpace(express);
  const r = writeConfig(s, PciConfig.VENDOR_ID, le(0, 4));
  assert.is(r.space, s);
  assert.equal(r.effects, []);
  assert.is(writeConfig(s, 0x10, Buffer.alloc(0)).space, s);
});

test('a write leaves the previous space untouched', () => {
  const s = buildConfigSpace(express);
  const before = s.bytes;
  write(s, PciConfig.COMMAND, le(7, 2));
  assert.equal(s.bytes, before);
});

test('reads and writes outside the space throw RangeError', () => {
  const s = buildConfigSpace(conventional);
  assert.is(readConfig(s, 0, 256).length, 256);
  assert.throws(() => readConfig(s, 255, 2), isRangeError);
  assert.throws(() => readConfig(s, -1, 1), isRangeError);
  assert.throws(() => readConfig(s, 0.5, 1), isRangeError);
  assert.throws(() => writeConfig(s, 256, Buffer.of(0)), isRangeError);
  assert.throws(() => writeConfig(s, 0xfe, le(0, 4)), /outside the 256-byte space/);
  assert.is(readConfig(buildConfigSpace(express), 0xffc, 4).length, 4);
});

test('device-side updates: INTx status, pokes and reset', () => {
  const s = buildConfigSpace(express);
  const on = setInterruptStatus(s, true);
  assert.is(word(on, PciConfig.STATUS), PciStatus.CAP_LIST | PciStatus.INTERRUPT);
  assert.is(word(setInterruptStatus(on, false), PciConfig.STATUS), PciStatus.CAP_LIST);
  assert.is(word(write(on, PciConfig.STATUS, le(0xffff, 2)), PciConfig.STATUS) & PciStatus.INTERRUPT, PciStatus.INTERRUPT, 'guest cannot clear it');
  const used = write(write(on, PciConfig.COMMAND, le(6, 2)), PciConfig.BAR3, le(0xfe000000, 4));
  assert.equal(resetConfig(used).bytes, s.bytes);
  assert.throws(() => pokeConfig(s, 0xfff, le(0, 2)), isRangeError);
});

test.run();
