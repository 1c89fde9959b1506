// Shared by the server specs: a device that has every kind of region and interrupt, and helpers
// to read replies.
import * as assert from 'uvu/assert';
import { Observable } from 'rxjs';
import { HeaderFlags, RegionType } from '../../src/protocol/constants.js';
import { errnoName } from '../../src/protocol/errno.js';
import type { Frame } from '../../src/protocol/frame.js';
import {
  ioBar,
  memoryBar,
  msi,
  msix,
  msixBar,
  pciDevice,
  pcie,
  pm,
  serialNumber,
  vendorExtCapability,
  ramBar,
  testBed,
  type DeviceContext,
  type PciDevice,
  type ResetReason,
  type TestBedOptions,
} from '../../src/server/index.js';

/** Register-file memory a plain-function handler reads and writes (test fixture state). */
export const scratchHandler = (size: number) => {
  const bytes = Buffer.alloc(size);
  return {
    bytes,
    handler: {
      read: (offset: number, count: number) => Buffer.from(bytes.subarray(offset, offset + count)),
      write: (offset: number, data: Buffer) => void data.copy(bytes, offset),
    },
  };
};

/** Region indexes of the kitchen-sink device. */
export const K = { IO: 0, MMIO: 1, RAM: 2, MSIX: 4, ROM: 6, CONFIG: 7, VENDOR: 9 } as const;
export const RAM_SIZE = 16384;
export const ROM = Buffer.from('option rom contents');

/**
 * A device with an I/O BAR, a memory BAR, a RAM BAR (one trapped page, two mappable pages, one
 * trapped page), an MSI-X BAR, a ROM, a device-specific region, MSI, MSI-X, INTx, ERR and REQ.
 */
export const kitchenSink = (resets: ResetReason[] = [], onContext?: (ctx: DeviceContext) => void): PciDevice & { io: Buffer; mmio: Buffer } => {
  const io = scratchHandler(16);
  const mmio = scratchHandler(4096);
  const device = pciDevice({
    name: 'kitchen-sink',
    ids: { vendorId: 0x1234, deviceId: 0xabcd, classCode: 0xff0000 },
    interruptPin: 1,
    bars: {
      [K.IO]: ioBar(16, io.handler),
      [K.MMIO]: memoryBar(4096, mmio.handler),
      [K.RAM]: ramBar(RAM_SIZE, { sparse: [{ offset: 4096, size: 8192 }], trap: scratchHandler(RAM_SIZE).handler }),
      [K.MSIX]: msixBar(4),
    },
    rom: ROM,
    capabilities: [pm(), msi(4, { maskable: true }), msix(4, K.MSIX), pcie('endpoint', { flr: true })],
    extendedCapabilities: [serialNumber(0x0123456789abcdefn), vendorExtCapability(0x42, Buffer.from('vsec'))],
    regions: { [K.VENDOR]: { size: 256, type: RegionType.PCI_VENDOR_TYPE | 0x1234, subtype: 7, handler: scratchHandler(256).handler } },
    irqs: { err: true, req: true },
    reset: (reason) => void resets.push(reason),
    behaviour: (ctx) => {
      onContext?.(ctx);
    },
  });
  return { ...device, io: io.bytes, mmio: mmio.bytes };
};

/** A test bed of the kitchen-sink device and a promise-driven session on it. */
export const openSink = (options: TestBedOptions = {}) => {
  const resets: ResetReason[] = [];
  let context: DeviceContext | undefined;
  const device = kitchenSink(resets, (c) => (context = c));
  const bed = testBed(device, options);
  const session = bed.open();
  const ctx = (): DeviceContext => {
    if (!context) throw new Error('the device has not started');
    return context;
  };
  return { device, bed, session, resets, req: bed.req, ctx };
};

/** Asserts an error reply with this errno, header only. */
export const assertErrno = (reply: Frame, errno: number): void => {
  assert.ok(reply.header.flags & HeaderFlags.ERROR, `expected ${errnoName(errno)}, got a success reply`);
  assert.is(errnoName(reply.header.error), errnoName(errno));
  assert.is(reply.header.size, 16, 'error replies are header only');
  assert.is(reply.payload.length, 0);
};

/** Asserts a success reply. */
export const assertOk = (reply: Frame, what = 'expected success'): Frame => {
  assert.not.ok(reply.header.flags & HeaderFlags.ERROR, `${what}, got ${errnoName(reply.header.error)}`);
  return reply;
};

/** A little-endian u32 as 4 bytes. */
export const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};

/** A little-endian u16 as 2 bytes. */
export const u16 = (v: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return b;
};

/** Collects an observable's values synchronously (for sources that emit on subscription). */
export const collect = <T>(o: Observable<T>): T[] => {
  const out: T[] = [];
  o.subscribe((v) => out.push(v)).unsubscribe();
  return out;
};
