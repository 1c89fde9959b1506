import type { PciDeviceDesc } from '../../src/pci/index.js';

/** A conventional PCI function: 32-bit memory BAR, I/O BAR, ROM, PM and 32-bit MSI. */
export const conventional: PciDeviceDesc = {
  ids: { vendorId: 0x494f, deviceId: 0x0dc8, classCode: 0x088000, revision: 2 },
  bars: [
    { index: 0, size: 0x1000, kind: 'memory' },
    { index: 1, size: 0x100, kind: 'io' },
  ],
  rom: { size: 0x8000 },
  interruptPin: 1,
  capabilities: [{ kind: 'pm', d1: true, pmeSupport: 0x19 }, { kind: 'msi', vectors: 1 }],
};

/** A PCIe endpoint with every kind of capability this module emulates. */
export const express: PciDeviceDesc = {
  ids: { vendorId: 0x1234, deviceId: 0xabcd, classCode: 0x058000, revision: 1, subsystemVendorId: 0x1af4, subsystemId: 0x1100 },
  bars: [
    { index: 0, size: 0x4000, kind: 'memory', is64: true, prefetchable: true, mappable: true },
    { index: 2, size: 0x100, kind: 'io' },
    { index: 3, size: 0x1000, kind: 'memory' },
  ],
  rom: { size: 0x40000 },
  interruptPin: 1,
  capabilities: [
    { kind: 'pm', pmeSupport: 0x19 },
    { kind: 'msi', vectors: 4, is64: true, maskable: true },
    { kind: 'msix', tableSize: 4, tableBar: 3, tableOffset: 0, pbaBar: 3, pbaOffset: 0x800 },
    { kind: 'pcie', deviceType: 'endpoint', flr: true, maxPayload: 256, link: { speed: 3, width: 4 } },
    { kind: 'vendor', bytes: Buffer.from('hello'), writeMask: Buffer.from([0, 0, 0, 0, 0xff]) },
  ],
  extendedCapabilities: [
    { kind: 'dsn', serial: 0x0011223344556677n },
    { kind: 'vendor', vsecId: 0x42, vsecRev: 1, bytes: Buffer.alloc(8) },
  ],
};

/** Little-endian bytes of a value `width` bytes wide. */
export const le = (value: number, width: 1 | 2 | 4): Buffer => {
  const b = Buffer.alloc(width);
  b.writeUIntLE(value >>> 0, 0, width);
  return b;
};
