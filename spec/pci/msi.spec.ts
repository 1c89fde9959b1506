import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  MsiFlags,
  MsixFlags,
  buildConfigSpace,
  msiState,
  msixInfo,
  msixState,
  pokeConfig,
  readConfig,
  writeConfig,
  type ConfigSpace,
} from '../../src/pci/index.js';
import { conventional, express, le } from './fixtures.js';

const expressSpace = buildConfigSpace(express);
const msiAt = expressSpace.layout.msi?.offset ?? 0;
const msixAt = expressSpace.layout.msix?.offset ?? 0;

/** Programs a 64-bit maskable MSI the way a driver does: address, data, then enable with 4 vectors. */
const programMsi = (s: ConfigSpace): ConfigSpace => {
  let x = writeConfig(s, msiAt + 4, le(0xfee01000, 4)).space;
  x = writeConfig(x, msiAt + 8, le(0x1, 4)).space;
  return writeConfig(x, msiAt + 12, le(0x4041, 2)).space;
};

test('MSI: enabling reports the enabled vector count, address, data and mask', () => {
  const r = writeConfig(programMsi(expressSpace), msiAt + 2, le(MsiFlags.ENABLE | (2 << 4), 2));
  assert.equal(r.effects, [{ kind: 'msi', enabled: true, vectors: 4, address: 0x1fee01000n, data: 0x4041, mask: 0 }]);
  const st = msiState(r.space);
  assert.is(st?.enabled, true);
  assert.is(st?.vectorsCapable, 4);
  assert.is(st?.vectors, 4);
});

test('MSI: capability bits are read-only; multiple message enable is capped at the capability', () => {
  const r = writeConfig(expressSpace, msiAt + 2, le(0xffff, 2));
  const flags = readConfig(r.space, msiAt + 2, 2).readUInt16LE(0);
  assert.is(flags, 0x01f5, '64-bit, maskable, MMC=2 kept; enable and MME=7 written');
  assert.is(msiState(r.space)?.vectors, 4);
});

test('MSI: address low bits are hardwired to 0 and only implemented vectors can be masked', () => {
  let s = writeConfig(expressSpace, msiAt + 4, le(0xffffffff, 4)).space;
  s = writeConfig(s, msiAt + 16, le(0xffffffff, 4)).space;
  assert.is(msiState(s)?.address, 0xfffffffcn);
  assert.is(msiState(s)?.mask, 0xf);
  const r = writeConfig(s, msiAt + 16, le(0x2, 4));
  assert.equal(r.effects.map((e) => e.kind === 'msi' && e.mask), [0x2]);
});

test('MSI: pending bits are set by the device only', () => {
  const s = pokeConfig(expressSpace, msiAt + 20, le(0x5, 4));
  assert.is(msiState(writeConfig(s, msiAt + 20, le(0, 4)).space)?.pending, 0x5);
});

test('MSI: a 32-bit capability without masking has data at +8 and no mask', () => {
  const s = buildConfigSpace(conventional);
  const at = s.layout.msi?.offset ?? 0;
  const x = writeConfig(writeConfig(s, at + 8, le(0x0021, 2)).space, at + 2, le(1, 2));
  assert.equal(x.effects, [{ kind: 'msi', enabled: true, vectors: 1, address: 0n, data: 0x21, mask: undefined }]);
  assert.is(msiState(x.space)?.pending, undefined);
});

test('MSI-X: enable and function mask are reported; table size is read-only', () => {
  const r = writeConfig(expressSpace, msixAt + 2, le(MsixFlags.ENABLE | MsixFlags.MASKALL | 0x7ff, 2));
  assert.equal(r.effects, [{ kind: 'msix', enabled: true, functionMask: true }]);
  assert.is(readConfig(r.space, msixAt + 2, 2).readUInt16LE(0), 0xc003);
  assert.equal(msixState(r.space), { offset: msixAt, enabled: true, functionMask: true, tableSize: 4 });
  const u = writeConfig(r.space, msixAt + 3, Buffer.of(0x80));
  assert.equal(u.effects, [{ kind: 'msix', enabled: true, functionMask: false }], 'byte write to the upper half');
});

test('MSI-X: table and PBA registers are read-only and msixInfo locates them', () => {
  const s = writeConfig(expressSpace, msixAt + 4, Buffer.alloc(8, 0xff)).space;
  assert.is(readConfig(s, msixAt + 4, 8).toString('hex'), '0300000003080000');
  assert.equal(msixInfo(s), { entries: 4, table: { bar: 3, offset: 0, size: 64 }, pba: { bar: 3, offset: 0x800, size: 8 } });
});

test('helpers answer undefined when the capability is absent', () => {
  const s = buildConfigSpace(conventional);
  assert.is(msixState(s), undefined);
  assert.is(msixInfo(s), undefined);
  assert.is(msiState(buildConfigSpace({ ids: { vendorId: 1, deviceId: 1, classCode: 0 } })), undefined);
});

test('PM: moving to D3hot is reported; an unsupported state is ignored', () => {
  const at = expressSpace.layout.pm?.offset ?? 0;
  const d3 = writeConfig(expressSpace, at + 4, le(3, 2));
  assert.equal(d3.effects, [{ kind: 'pm', state: 3, previous: 0 }]);
  const d2 = writeConfig(d3.space, at + 4, le(2, 2));
  assert.equal(d2.effects, [], 'D2 is not supported: write completes, state stays D3hot');
  assert.is(readConfig(d2.space, at + 4, 2).readUInt16LE(0) & 3, 3);
  const c = buildConfigSpace(conventional);
  assert.equal(writeConfig(c, 0x44, le(1, 2)).effects, [{ kind: 'pm', state: 1, previous: 0 }], 'D1 supported there');
});

test('PM: PME_Status is RW1C and PME_En writable when PME is supported', () => {
  const at = expressSpace.layout.pm?.offset ?? 0;
  const s = pokeConfig(expressSpace, at + 4, le(0x8000, 2));
  const x = writeConfig(s, at + 4, le(0x8100, 2)).space;
  assert.is(readConfig(x, at + 4, 2).readUInt16LE(0), 0x0100);
});

test('PCIe: device control changes are reported and device status errors are RW1C', () => {
  const at = expressSpace.layout.pcie?.offset ?? 0;
  const r = writeConfig(expressSpace, at + 8, le(0x2830, 2));
  assert.equal(r.effects, [{ kind: 'devctl', value: 0x2830, previous: 0x2810 }]);
  const s = pokeConfig(expressSpace, at + 0xa, le(0x0005, 2));
  assert.is(readConfig(writeConfig(s, at + 0xa, le(0x0001, 2)).space, at + 0xa, 2).readUInt16LE(0), 0x0004);
});

test('PCIe: Initiate FLR resets the space and is reported first, then what the reset changed', () => {
  const at = expressSpace.layout.pcie?.offset ?? 0;
  const used = programMsi(writeConfig(expressSpace, 4, le(6, 2)).space);
  const r = writeConfig(used, at + 8, le(0xa810, 2));
  assert.equal(r.effects.map((e) => e.kind), ['flr', 'command', 'msi']);
  assert.equal(r.space.bytes, expressSpace.bytes);
  assert.is(readConfig(r.space, at + 8, 2).readUInt16LE(0) & 0x8000, 0, 'Initiate FLR reads back 0');
});

test('PCIe: without FLR support the Initiate FLR bit is read-only', () => {
  const s = buildConfigSpace({ ids: { vendorId: 1, deviceId: 1, classCode: 0 }, capabilities: [{ kind: 'pcie', deviceType: 'endpoint' }] });
  const at = s.layout.pcie?.offset ?? 0;
  const r = writeConfig(s, at + 8, le(0x8000 | 0x2810, 2));
  assert.equal(r.effects, []);
});

test('vendor capability bytes follow their write mask', () => {
  const r = writeConfig(expressSpace, 0xab, Buffer.from('HELLO'));
  assert.is(readConfig(r.space, 0xab, 5).toString(), 'hellO');
});

test.run();
