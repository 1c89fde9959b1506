import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  buildConfigSpace,
  parseConfigSpace,
  writeConfig,
  type BarSpec,
  type ParsedCapability,
  type PciDeviceDesc,
} from '../../src/pci/index.js';
import { conventional, express, le } from './fixtures.js';

const byKind = <K extends ParsedCapability['kind']>(caps: readonly ParsedCapability[], kind: K): Extract<ParsedCapability, { kind: K }> => {
  const cap = caps.find((c) => c.kind === kind);
  if (cap === undefined) throw new Error(`no ${kind} capability`);
  return cap as Extract<ParsedCapability, { kind: K }>;
};

/** Builds, parses, and checks what the description says survives the trip. */
const roundTrip = (desc: PciDeviceDesc): void => {
  const p = parseConfigSpace(buildConfigSpace(desc).bytes);
  assert.is(p.vendorId, desc.ids.vendorId);
  assert.is(p.deviceId, desc.ids.deviceId);
  assert.is(p.classCode, desc.ids.classCode);
  assert.is(p.baseClass << 16 | p.subClass << 8 | p.progIf, desc.ids.classCode);
  assert.is(p.revision, desc.ids.revision ?? 0);
  assert.is(p.subsystemVendorId, desc.ids.subsystemVendorId ?? 0);
  assert.is(p.interruptPin, desc.interruptPin ?? 0);
  for (const bar of desc.bars ?? ([] as BarSpec[])) {
    const got = p.bars.find((b) => b.index === bar.index);
    assert.equal(
      got && { kind: got.kind, is64: got.is64, prefetchable: got.prefetchable },
      { kind: bar.kind, is64: bar.is64 ?? false, prefetchable: bar.prefetchable ?? false },
      `BAR ${bar.index}`,
    );
  }
  const kinds = (desc.capabilities ?? []).map((c) => c.kind);
  assert.equal(p.capabilities.map((c) => c.kind), kinds);
  assert.equal(p.warnings, []);
};

/** uvu calls a function `expected` as a predicate, so a bare class would pass vacuously. */
const isRangeError = (e: unknown): boolean => e instanceof RangeError;

test('round trip: a conventional device keeps ids, class, BAR kinds and capability list', () => {
  roundTrip(conventional);
  const p = parseConfigSpace(buildConfigSpace(conventional).bytes);
  assert.equal(p.capabilities.map((c) => [c.offset, c.id, c.name]), [[0x40, 1, 'Power Management'], [0x48, 5, 'MSI']]);
  assert.equal(p.extendedCapabilities, []);
  assert.is(p.size, 256);
});

test('round trip: a PCIe function keeps every capability and its decoded fields', () => {
  roundTrip(express);
  const p = parseConfigSpace(buildConfigSpace(express).bytes);
  assert.equal(p.bars.map((b) => b.index), [0, 2, 3, 4, 5], 'the upper half of BAR 0 has no entry');
  const pm = byKind(p.capabilities, 'pm');
  assert.equal([pm.version, pm.state, pm.pmeSupport, pm.d1], [3, 0, 0x19, false]);
  const msi = byKind(p.capabilities, 'msi');
  assert.equal([msi.enabled, msi.vectorsCapable, msi.vectorsEnabled, msi.is64, msi.maskable], [false, 4, 1, true, true]);
  const msix = byKind(p.capabilities, 'msix');
  assert.equal([msix.tableSize, msix.tableBar, msix.tableOffset, msix.pbaBar, msix.pbaOffset], [4, 3, 0, 3, 0x800]);
  const pcie = byKind(p.capabilities, 'pcie');
  assert.equal([pcie.version, pcie.deviceTypeName, pcie.maxPayloadSupported, pcie.flr], [2, 'Endpoint', 256, true]);
  assert.equal(pcie.link, { port: 0, maxSpeed: 3, maxWidth: 4, speed: 3, width: 4 });
  const vendor = byKind(p.capabilities, 'vendor');
  assert.equal([vendor.length, vendor.bytes.toString()], [8, 'hello']);
  assert.equal(p.extendedCapabilities, [
    { id: 3, version: 1, offset: 0x100, name: 'Device Serial Number', serial: 0x0011223344556677n },
    { id: 0xb, version: 1, offset: 0x10c, name: 'Vendor Specific Information', vsecId: 0x42, vsecRev: 1, vsecLength: 16 },
  ]);
});

test('parses the state written by the guest: MSI-X enabled, BARs and ROM programmed', () => {
  const s0 = buildConfigSpace(express);
  const msixAt = s0.layout.msix?.offset ?? 0;
  let s = writeConfig(s0, msixAt + 2, le(0x8000, 2)).space;
  s = writeConfig(s, 0x10, le(0xfe000000, 4)).space;
  s = writeConfig(s, 0x14, le(0x1, 4)).space;
  s = writeConfig(s, 0x30, le(0xfeb80001, 4)).space;
  const p = parseConfigSpace(s.bytes);
  assert.is(byKind(p.capabilities, 'msix').enabled, true);
  assert.is(p.bars[0]?.address, 0x1fe000000n);
  assert.equal([p.romAddress, p.romEnabled], [0xfeb80000, true]);
});

test('a root-complex integrated endpoint parses without a link', () => {
  const desc: PciDeviceDesc = { ids: { vendorId: 1, deviceId: 2, classCode: 0x0b4000 }, capabilities: [{ kind: 'pcie', deviceType: 'rc-integrated' }] };
  const pcie = byKind(parseConfigSpace(buildConfigSpace(desc).bytes).capabilities, 'pcie');
  assert.equal([pcie.deviceType, pcie.deviceTypeName, pcie.link], [9, 'Root Complex Integrated Endpoint', undefined]);
});

test('decodes the multifunction bit and ignores capabilities when CAP_LIST is clear', () => {
  const b = buildConfigSpace({ ...conventional, multifunction: true }).bytes;
  b.writeUInt16LE(0, 0x06);
  const p = parseConfigSpace(b);
  assert.equal([p.headerType, p.multifunction, p.capabilities], [0, true, []]);
});

test('throws RangeError only when fewer than 64 bytes are given', () => {
  assert.throws(() => parseConfigSpace(Buffer.alloc(63)), isRangeError);
  assert.is(parseConfigSpace(Buffer.alloc(64)).vendorId, 0);
});

test.run();
