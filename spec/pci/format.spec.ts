import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildConfigSpace, formatConfig, parseConfigSpace, writeConfig } from '../../src/pci/index.js';
import { conventional, express, le } from './fixtures.js';

const programmed = (): Buffer => {
  const s0 = buildConfigSpace(express);
  let s = writeConfig(s0, 0x04, le(0x0406, 2)).space;
  s = writeConfig(s, 0x10, le(0xfe000000, 4)).space;
  s = writeConfig(s, 0x18, le(0xc000, 4)).space;
  s = writeConfig(s, 0x3c, Buffer.of(11)).space;
  s = writeConfig(s, (s0.layout.msix?.offset ?? 0) + 2, le(0x8000, 2)).space;
  return s.bytes;
};

test('formats the header like lspci -vv', () => {
  const lines = formatConfig(parseConfigSpace(programmed()), { barSizes: [0x4000, undefined, 0x100, 0x1000], romSize: 0x40000 });
  assert.equal(lines.slice(0, 11), [
    'Vendor 1234 Device abcd (rev 01)',
    'Class 0580: Memory controller',
    'Subsystem: Vendor 1af4 Device 1100',
    'Control: I/O- Mem+ BusMaster+ SpecCycle- MemWINV- VGASnoop- ParErr- Stepping- SERR- FastB2B- DisINTx+',
    'Status: Cap+ 66MHz- UDF- FastB2B- ParErr- DEVSEL=fast >TAbort- <TAbort- <MAbort- >SERR- <PERR- INTx-',
    'Interrupt: pin A routed to IRQ 11',
    'Region 0: Memory at fe000000 (64-bit, prefetchable) [size=16K]',
    'Region 2: I/O ports at c000 [size=256]',
    'Region 3: Memory at <unassigned> (32-bit, non-prefetchable) [size=4K]',
    'Expansion ROM at <unassigned> [disabled] [size=256K]',
    'Capabilities: [40] Power Management version 3',
  ]);
});

test('formats every capability kind with indented details', () => {
  const lines = formatConfig(parseConfigSpace(programmed()));
  const caps = lines.slice(lines.indexOf('Capabilities: [40] Power Management version 3'));
  assert.equal(caps, [
    'Capabilities: [40] Power Management version 3',
    '\tFlags: D1- D2- PME(D0+,D1-,D2-,D3hot+,D3cold+)',
    '\tStatus: D0 NoSoftRst- PME-Enable- PME-',
    'Capabilities: [48] MSI: Enable- Count=1/4 Maskable+ 64bit+',
    '\tAddress: 0000000000000000  Data: 0000',
    '\tMasking: 00000000  Pending: 00000000',
    'Capabilities: [60] MSI-X: Enable+ Count=4 Masked-',
    '\tVector table: BAR=3 offset=00000000',
    '\tPBA: BAR=3 offset=00000800',
    'Capabilities: [6c] Express (v2) Endpoint, MSI 00',
    '\tDevCap: MaxPayload 256 bytes, FLReset+',
    '\tDevCtl: MaxPayload 128 bytes, MaxReadReq 512 bytes',
    '\tLnkCap: Port #0, Speed 8GT/s, Width x4',
    '\tLnkSta: Speed 8GT/s, Width x4',
    'Capabilities: [a8] Vendor Specific Information: Len=08',
    'Capabilities: [100 v1] Device Serial Number 00-11-22-33-44-55-66-77',
    'Capabilities: [10c v1] Vendor Specific Information: ID=0042 Rev=1 Len=010',
  ]);
});

test('without sizes, BARs whose register reads 0 are left out', () => {
  const lines = formatConfig(parseConfigSpace(buildConfigSpace(conventional).bytes));
  assert.equal(lines.filter((l) => l.startsWith('Region') || l.startsWith('Expansion')), ['Region 1: I/O ports at <unassigned>']);
  assert.ok(lines.includes('Class 0880: Generic system peripheral'));
  assert.ok(lines.includes('Capabilities: [48] MSI: Enable- Count=1/1 Maskable- 64bit-'));
  assert.ok(lines.includes('\tAddress: 00000000  Data: 0000'));
});

test('a BAR whose region has size 0 is left out even when its register shows type bits', () => {
  // libvfio-user's config space sets the I/O bit of BARs it does not implement.
  const bytes = Buffer.from(buildConfigSpace(conventional).bytes);
  for (let bar = 0; bar < 6; bar++) bytes.writeUInt32LE(1, 0x10 + bar * 4);
  const regions = (sizes: (number | undefined)[]) => formatConfig(parseConfigSpace(bytes), { barSizes: sizes }).filter((l) => l.startsWith('Region'));
  assert.equal(regions([0, 0, 0x100, 0, 0, 0]), ['Region 2: I/O ports at <unassigned> [size=256]']);
  assert.equal(regions([undefined, 0, 0x100]).map((l) => l.slice(0, 8)), ['Region 0', 'Region 2', 'Region 3', 'Region 4', 'Region 5'], 'without a size, the register decides');
});

test('unknown capabilities are named by id and warnings come last', () => {
  const b = Buffer.alloc(256);
  b.writeUInt16LE(0x0010, 0x06);
  b[0x34] = 0x40;
  b[0x40] = 0x3f;
  b[0x41] = 0x40;
  const lines = formatConfig(parseConfigSpace(b));
  assert.ok(lines.includes('Capabilities: [40] Capability 0x3f'));
  assert.is(lines.at(-1), 'Warning: capability list loops back to 0x40; list walk stopped');
});

test('sizes print in the largest exact binary unit', () => {
  const p = parseConfigSpace(buildConfigSpace(conventional).bytes);
  const region = (size: number | bigint): string | undefined => formatConfig(p, { barSizes: [size] }).find((l) => l.startsWith('Region 0'));
  assert.match(region(0x1800) ?? '', /\[size=6K\]$/);
  assert.match(region(0x100000) ?? '', /\[size=1M\]$/);
  assert.match(region(2n ** 33n) ?? '', /\[size=8G\]$/);
  assert.match(region(0x10) ?? '', /\[size=16\]$/);
});

test.run();
