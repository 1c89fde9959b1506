import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  PciDescriptionError,
  buildConfigSpace,
  validateDescription,
  type CapSpec,
  type PciDeviceDesc,
} from '../../src/pci/index.js';
import { express } from './fixtures.js';

const ids = { vendorId: 0x1234, deviceId: 0x5678, classCode: 0xff0000 };
const msixBar = { index: 0, size: 0x1000, kind: 'memory' } as const;

/** Asserts that building `desc` throws a PciDescriptionError for `field` whose message matches `re`. */
const rejects = (desc: PciDeviceDesc, field: string, re: RegExp): void => {
  try {
    buildConfigSpace(desc);
  } catch (e) {
    assert.instance(e, PciDescriptionError);
    assert.is((e as PciDescriptionError).field, field);
    assert.match((e as Error).message, re);
    assert.ok((e as Error).message.startsWith(`${field}: `), 'message names the field');
    return;
  }
  assert.unreachable(`expected ${field} to be rejected`);
};

const msix = (over: Partial<Extract<CapSpec, { kind: 'msix' }>>): PciDeviceDesc => ({
  ids,
  bars: [msixBar, { index: 2, size: 0x10, kind: 'io' }],
  capabilities: [{ kind: 'msix', tableSize: 8, tableBar: 0, tableOffset: 0, pbaBar: 0, pbaOffset: 0x800, ...over }],
});

test('accepts the full example description', () => {
  validateDescription(express);
});

test('rejects ids that do not fit their registers', () => {
  rejects({ ids: { ...ids, vendorId: 0x10000 } }, 'ids.vendorId', /16-bit/);
  rejects({ ids: { ...ids, vendorId: 0xffff } }, 'ids.vendorId', /no device/);
  rejects({ ids: { ...ids, classCode: 0x1000000 } }, 'ids.classCode', /24-bit/);
  rejects({ ids: { ...ids, revision: 256 } }, 'ids.revision', /8-bit/);
});

test('rejects a BAR size that is not a power of two', () => {
  rejects({ ids, bars: [{ index: 0, size: 1000, kind: 'memory' }] }, 'bars[0].size', /not a power of two/);
});

test('rejects BARs below the PCI minimum: 16 bytes of memory, 4 of I/O', () => {
  rejects({ ids, bars: [{ index: 0, size: 8, kind: 'memory' }] }, 'bars[0].size', /at least 16/);
  rejects({ ids, bars: [{ index: 1, size: 2, kind: 'io' }] }, 'bars[0].size', /at least 4/);
});

test('rejects an I/O BAR above 256 bytes, 64-bit or prefetchable', () => {
  rejects({ ids, bars: [{ index: 0, size: 512, kind: 'io' }] }, 'bars[0].size', /at most 256/);
  rejects({ ids, bars: [{ index: 0, size: 16, kind: 'io', is64: true }] }, 'bars[0].is64', /cannot be 64-bit/);
  rejects({ ids, bars: [{ index: 0, size: 16, kind: 'io', prefetchable: true }] }, 'bars[0].prefetchable', /prefetchable/);
});

test('rejects a 32-bit memory BAR above 2 GiB and accepts it as 64-bit', () => {
  rejects({ ids, bars: [{ index: 0, size: 2 ** 32, kind: 'memory' }] }, 'bars[0].size', /2 GiB/);
  validateDescription({ ids, bars: [{ index: 0, size: 2 ** 32, kind: 'memory', is64: true }] });
});

test('rejects a 64-bit BAR at index 5', () => {
  rejects({ ids, bars: [{ index: 5, size: 16, kind: 'memory', is64: true }] }, 'bars[0].is64', /BAR 5 is the last/);
});

test('rejects overlapping BAR indexes, including the upper half of a 64-bit BAR', () => {
  const a = { index: 2, size: 16, kind: 'memory' } as const;
  rejects({ ids, bars: [a, a] }, 'bars[1].index', /already used by bars\[0\]/);
  rejects({ ids, bars: [{ ...a, is64: true }, { ...a, index: 3 }] }, 'bars[1].index', /register 3 is already used/);
  rejects({ ids, bars: [{ ...a, index: 6 }] }, 'bars[0].index', /0\.\.5/);
});

test('rejects a bad ROM size, interrupt pin or config size', () => {
  rejects({ ids, rom: { size: 1024 } }, 'rom.size', /at least 2048/);
  rejects({ ids, rom: { size: 3000 } }, 'rom.size', /power of two/);
  rejects({ ids, interruptPin: 5 }, 'interruptPin', /0\.\.4/);
  rejects({ ids, configSize: 512 as 256 }, 'configSize', /256 or 4096/);
});

test('rejects MSI vector counts that are not a power of two up to 32', () => {
  rejects({ ids, capabilities: [{ kind: 'msi', vectors: 3 }] }, 'capabilities[0].vectors', /not one of/);
  rejects({ ids, capabilities: [{ kind: 'msi', vectors: 64 }] }, 'capabilities[0].vectors', /not one of/);
});

test('rejects MSI-X structures outside their BAR, misaligned, overlapping or in a missing BAR', () => {
  rejects(msix({ tableSize: 0 }), 'capabilities[0].tableSize', /1\.\.2048/);
  rejects(msix({ tableSize: 2049 }), 'capabilities[0].tableSize', /1\.\.2048/);
  rejects(msix({ tableOffset: 0xfc0 }), 'capabilities[0].tableOffset', /runs past BAR 0/);
  rejects(msix({ pbaOffset: 0x1000 }), 'capabilities[0].pbaOffset', /runs past BAR 0/);
  rejects(msix({ tableOffset: 4 }), 'capabilities[0].tableOffset', /qword-aligned/);
  rejects(msix({ pbaOffset: 0x40 }), 'capabilities[0].pbaOffset', /overlaps the vector table/);
  rejects(msix({ tableBar: 1 }), 'capabilities[0].tableBar', /not a memory BAR/);
  rejects(msix({ pbaBar: 2 }), 'capabilities[0].pbaBar', /not a memory BAR/);
});

test('accepts MSI-X table and PBA in different BARs at the same offset', () => {
  validateDescription({ ...msix({ pbaBar: 4, pbaOffset: 0 }), bars: [msixBar, { index: 4, size: 16, kind: 'memory' }] });
});

test('rejects a second capability of the same kind, but allows several vendor ones', () => {
  rejects({ ids, capabilities: [{ kind: 'msi', vectors: 1 }, { kind: 'msi', vectors: 2 }] }, 'capabilities[1]', /second 'msi'/);
  const v = { kind: 'vendor', bytes: Buffer.alloc(4) } as const;
  validateDescription({ ids, capabilities: [v, v] });
});

test('rejects PCIe options that do not exist', () => {
  const pcie = (over: object): PciDeviceDesc => ({ ids, capabilities: [{ kind: 'pcie', deviceType: 'endpoint', ...over }] });
  rejects(pcie({ deviceType: 'root-port' }), 'capabilities[0].deviceType', /not one of/);
  rejects(pcie({ maxPayload: 100 }), 'capabilities[0].maxPayload', /not one of/);
  rejects(pcie({ link: { speed: 7, width: 1 } }), 'capabilities[0].link.speed', /1\.\.6/);
  rejects(pcie({ link: { speed: 1, width: 3 } }), 'capabilities[0].link.width', /not one of/);
  rejects(pcie({ deviceType: 'rc-integrated', link: { speed: 1, width: 1 } }), 'capabilities[0].link', /no link/);
});

test('rejects a vendor capability whose write mask does not match its bytes', () => {
  const cap = { kind: 'vendor', bytes: Buffer.alloc(4), writeMask: Buffer.alloc(3) } as const;
  rejects({ ids, capabilities: [cap] }, 'capabilities[0].writeMask', /differs/);
});

test('rejects capabilities that overflow 0x40..0xff', () => {
  const big = { kind: 'vendor', bytes: Buffer.alloc(100) } as const;
  rejects({ ids, capabilities: [big, big] }, 'capabilities', /only 192 fit/);
});

test('rejects extended capabilities without a 4 KiB config space', () => {
  const dsn = { kind: 'dsn', serial: 1n } as const;
  rejects({ ids, configSize: 256, extendedCapabilities: [dsn] }, 'extendedCapabilities', /4096/);
});

test('rejects bad extended capabilities', () => {
  const ext = (cap: object): PciDeviceDesc => ({ ids, extendedCapabilities: [cap as never] });
  rejects(ext({ kind: 'dsn', serial: 1n << 64n }), 'extendedCapabilities[0].serial', /64-bit/);
  rejects(ext({ kind: 'raw', id: 0, bytes: Buffer.alloc(0) }), 'extendedCapabilities[0].id', /null capability/);
  rejects(ext({ kind: 'raw', id: 1, version: 16, bytes: Buffer.alloc(0) }), 'extendedCapabilities[0].version', /4-bit/);
  rejects(ext({ kind: 'vendor', vsecId: 0x10000, bytes: Buffer.alloc(0) }), 'extendedCapabilities[0].vsecId', /16-bit/);
  rejects(ext({ kind: 'vendor', vsecId: 1, bytes: Buffer.alloc(0xff8) }), 'extendedCapabilities[0].bytes', /12-bit/);
  rejects(ext({ kind: 'bogus' }), 'extendedCapabilities[0].kind', /not a known/);
});

test('rejects extended capabilities that overflow 0x100..0xfff', () => {
  const big = { kind: 'raw', id: 0x23, bytes: Buffer.alloc(2000) } as const;
  rejects({ ids, extendedCapabilities: [big, big] }, 'extendedCapabilities', /only 3840 fit/);
});

test.run();
