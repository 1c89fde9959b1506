import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  PciCapId,
  PciConfig,
  PciExtCapId,
  PciStatus,
  buildConfigSpace,
  configSize,
  readConfig,
  type PciDeviceDesc,
} from '../../src/pci/index.js';
import { conventional, express } from './fixtures.js';

const minimal: PciDeviceDesc = { ids: { vendorId: 0x1af4, deviceId: 0x1000, classCode: 0x020000 } };

/** Follows the standard list from 0x34 and returns [offset, id] pairs. */
const chain = (bytes: Buffer): [number, number][] => {
  const out: [number, number][] = [];
  for (let p = bytes[0x34] as number; p !== 0 && out.length < 48; p = bytes[p + 1] as number) out.push([p, bytes[p] as number]);
  return out;
};

test('writes identity, class, revision, subsystem and interrupt pin in the header', () => {
  const b = buildConfigSpace(express).bytes;
  assert.is(b.readUInt16LE(PciConfig.VENDOR_ID), 0x1234);
  assert.is(b.readUInt16LE(PciConfig.DEVICE_ID), 0xabcd);
  assert.is(b[PciConfig.REVISION], 1);
  assert.is(b.subarray(0x09, 0x0c).toString('hex'), '008005');
  assert.is(b.readUInt16LE(PciConfig.SUBSYSTEM_VENDOR_ID), 0x1af4);
  assert.is(b.readUInt16LE(PciConfig.SUBSYSTEM_ID), 0x1100);
  assert.is(b[PciConfig.INTERRUPT_PIN], 1);
  assert.is(b[PciConfig.HEADER_TYPE], 0);
});

test('sets the multifunction bit of the header type when asked', () => {
  assert.is(buildConfigSpace({ ...minimal, multifunction: true }).bytes[PciConfig.HEADER_TYPE], 0x80);
});

test('a device without capabilities has a 256-byte space, no CAP_LIST and a zero pointer', () => {
  const s = buildConfigSpace(minimal);
  assert.is(configSize(s), 256);
  assert.is(s.bytes.length, 256);
  assert.is(s.bytes.readUInt16LE(PciConfig.STATUS) & PciStatus.CAP_LIST, 0);
  assert.is(s.bytes[PciConfig.CAPABILITY_LIST], 0);
});

test('lays capabilities out from 0x40, dword aligned, in the given order, with next pointers', () => {
  const s = buildConfigSpace(conventional);
  assert.is(s.bytes.readUInt16LE(PciConfig.STATUS) & PciStatus.CAP_LIST, PciStatus.CAP_LIST);
  // PM is 8 bytes; a 32-bit MSI without masking is 10.
  assert.equal(chain(s.bytes), [[0x40, PciCapId.PM], [0x48, PciCapId.MSI]]);
  assert.equal(s.layout.pm, { offset: 0x40, d1: true, d2: false });
  assert.equal(s.layout.msi, { offset: 0x48, is64: false, maskable: false, vectors: 1 });
});

test('lays out the full PCIe function and records every emulated capability', () => {
  const s = buildConfigSpace(express);
  // PM 8, MSI 64-bit maskable 24, MSI-X 12, PCIe 60 bytes, vendor 3 + 5.
  assert.equal(chain(s.bytes), [[0x40, 0x01], [0x48, 0x05], [0x60, 0x11], [0x6c, 0x10], [0xa8, 0x09]]);
  assert.is(s.layout.msix?.offset, 0x60);
  assert.is(s.layout.pcie?.offset, 0x6c);
  assert.is(s.bytes[0xa8 + 2], 8, 'vendor length counts the 3 header bytes');
  assert.is(s.bytes.subarray(0xab, 0xb0).toString(), 'hello');
});

test('a PCIe capability makes the space 4 KiB; extended caps chain from 0x100 with 12-bit next offsets', () => {
  const s = buildConfigSpace(express);
  assert.is(configSize(s), 4096);
  const h0 = s.bytes.readUInt32LE(0x100);
  assert.is(h0 & 0xffff, PciExtCapId.DSN);
  assert.is((h0 >>> 16) & 0xf, 1);
  assert.is(h0 >>> 20, 0x10c);
  assert.is(readConfig(s, 0x104, 8).toString('hex'), '7766554433221100');
  const h1 = s.bytes.readUInt32LE(0x10c);
  assert.is(h1 & 0xffff, PciExtCapId.VNDR);
  assert.is(h1 >>> 20, 0, 'last one ends the list');
  const vsec = s.bytes.readUInt32LE(0x110);
  assert.equal([vsec & 0xffff, (vsec >>> 16) & 0xf, vsec >>> 20], [0x42, 1, 16]);
});

test('a raw extended capability carries its id, version and body', () => {
  const s = buildConfigSpace({ ...minimal, extendedCapabilities: [{ kind: 'raw', id: 0x18, version: 2, bytes: Buffer.from('0102', 'hex') }] });
  assert.is(configSize(s), 4096, 'extended caps alone make the space 4 KiB');
  assert.is(s.bytes.readUInt32LE(0x100), 0x00020018);
  assert.is(s.bytes.subarray(0x104, 0x106).toString('hex'), '0102');
});

test('a 4 KiB space without extended capabilities has a zero header at 0x100', () => {
  const s = buildConfigSpace({ ...minimal, configSize: 4096 });
  assert.is(configSize(s), 4096);
  assert.is(s.bytes.readUInt32LE(0x100), 0);
});

test('BAR registers carry their type bits and a zero address', () => {
  const b = buildConfigSpace(express).bytes;
  assert.is(b.readUInt32LE(PciConfig.BAR0), 0x0c, '64-bit prefetchable');
  assert.is(b.readUInt32LE(PciConfig.BAR1), 0, 'upper dword');
  assert.is(b.readUInt32LE(PciConfig.BAR2), 0x01, 'I/O');
  assert.is(b.readUInt32LE(PciConfig.BAR3), 0x00, '32-bit memory');
  assert.is(b.readUInt32LE(PciConfig.ROM_ADDRESS), 0, 'ROM disabled');
});

test('PCIe capability: version 2 endpoint, payload, FLR, trained link', () => {
  const s = buildConfigSpace(express);
  const off = s.layout.pcie?.offset ?? 0;
  assert.is(s.bytes.readUInt16LE(off + 2), 0x0002);
  const devcap = s.bytes.readUInt32LE(off + 4);
  assert.is(devcap & 7, 1, '256 bytes');
  assert.ok(devcap & 0x10000000, 'FLR capable');
  assert.is(s.bytes.readUInt16LE(off + 8), 0x2810, 'reset value of device control');
  assert.is(s.bytes.readUInt32LE(off + 0xc), 0x43);
  assert.is(s.bytes.readUInt16LE(off + 0x12), 0x43);
});

test('a root-complex integrated endpoint has no link registers', () => {
  const s = buildConfigSpace({ ...minimal, capabilities: [{ kind: 'pcie', deviceType: 'rc-integrated' }] });
  const off = s.layout.pcie?.offset ?? 0;
  assert.is(s.bytes.readUInt16LE(off + 2), 0x0092);
  assert.is(s.bytes.readUInt32LE(off + 0xc), 0);
});

test('the space is immutable from outside: its getters hand out copies', () => {
  const s = buildConfigSpace(minimal);
  s.bytes.fill(0xee);
  s.writeMask.fill(0);
  assert.is(s.bytes.readUInt16LE(0), 0x1af4);
  assert.is(s.writeMask[PciConfig.INTERRUPT_LINE], 0xff);
  assert.ok(Object.isFrozen(s));
});

test.run();
