// REGION_READ (after libvfio-user's test_region_read.py): bounds are checked before any handler runs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Command } from '../../src/protocol/constants.js';
import { PciConfig } from '../../src/pci/index.js';
import { Errno } from '../../src/protocol/errno.js';
import { decodeRegionReadReply, encodeRegionReadRequest } from '../../src/protocol/region-access.js';
import { EMPTY, map, of } from 'rxjs';
import { DeviceError, memoryBar, pciDevice, testBed } from '../../src/server/index.js';
import { K, ROM, assertErrno, assertOk, openSink } from './fixtures.js';

test('a read past the end of the region is EINVAL', async () => {
  const { session, req } = openSink();
  assertErrno(await session.send(req.regionRead(K.IO, 12, 8)), Errno.EINVAL);
  assertErrno(await session.send(req.regionRead(K.IO, 16, 1)), Errno.EINVAL);
  assertErrno(await session.send(req.regionRead(K.IO, 2 ** 40, 1)), Errno.EINVAL);
  assertOk(await session.send(req.regionRead(K.IO, 12, 4)));
  session.stop();
});

test('a region index beyond the last, or an unimplemented region, is EINVAL', async () => {
  const { session, req } = openSink();
  assertErrno(await session.send(req.regionRead(10, 0, 4)), Errno.EINVAL);
  assertErrno(await session.send(req.regionRead(3, 0, 4)), Errno.EINVAL);
  assertErrno(await session.send(req.regionRead(8, 0xa0000, 4)), Errno.EINVAL);
  session.stop();
});

test('a count above our max_data_xfer_size is E2BIG', async () => {
  const { session, req } = openSink({ limits: { maxDataXferSize: 4096 } });
  assertErrno(await session.send(req.regionRead(K.MMIO, 0, 4097)), Errno.E2BIG);
  assertOk(await session.send(req.regionRead(K.MMIO, 0, 4096)));
  session.stop();
});

test('a payload other than 16 bytes is EINVAL', async () => {
  const { session, req } = openSink();
  const payload = Buffer.concat([encodeRegionReadRequest({ offset: 0, region: K.IO, count: 4 }), Buffer.alloc(4)]);
  assertErrno(await session.send(req.frame(Command.REGION_READ, payload)), Errno.EINVAL);
  assertErrno(await session.send(req.frame(Command.REGION_READ, payload.subarray(0, 12))), Errno.EINVAL);
  session.stop();
});

test('the reply echoes offset and region with the bytes read', async () => {
  const { device, session, req } = openSink();
  device.mmio.write('hello', 0x100);
  const reply = assertOk(await session.send(req.regionRead(K.MMIO, 0x100, 5)));
  const r = decodeRegionReadReply(reply.payload);
  assert.equal([r.offset, r.region, r.count, r.data?.toString()], [0x100, K.MMIO, 5, 'hello']);
  session.stop();
});

test('a read of 0 bytes succeeds without reaching the handler', async () => {
  const { session, req } = openSink();
  const r = decodeRegionReadReply(assertOk(await session.send(req.regionRead(K.IO, 4, 0))).payload);
  assert.equal([r.count, r.data?.length], [0, 0]);
  session.stop();
});

test('config space reads go through the PCI emulation', async () => {
  const { session, req } = openSink();
  const r = decodeRegionReadReply(assertOk(await session.send(req.configRead(PciConfig.VENDOR_ID, 4))).payload);
  assert.is(r.data?.readUInt32LE(0), 0xabcd1234);
  assertErrno(await session.send(req.configRead(4095, 2)), Errno.EINVAL);
  session.stop();
});

test('the ROM reads its contents, zero-padded', async () => {
  const { session, req } = openSink();
  const r = decodeRegionReadReply(assertOk(await session.send(req.regionRead(K.ROM, 0, ROM.length + 4))).payload);
  assert.equal(r.data, Buffer.concat([ROM, Buffer.alloc(4)]));
  session.stop();
});

test('a handler that throws answers its errno (or EIO), a short read is EIO, and the next read is served', async () => {
  const device = pciDevice({
    ids: { vendorId: 1, deviceId: 2, classCode: 0 },
    bars: {
      0: memoryBar(4096, {
        read: (offset, count) => {
          if (offset === 0) throw new DeviceError(Errno.EPERM, 'locked');
          if (offset === 4) throw new Error('bug');
          return Buffer.alloc(offset === 8 ? count - 1 : count, 7);
        },
      }),
    },
  });
  const bed = testBed(device);
  const session = bed.open();
  assertErrno(await session.send(bed.req.regionRead(0, 0, 4)), Errno.EPERM);
  assertErrno(await session.send(bed.req.regionRead(0, 4, 4)), Errno.EIO);
  assertErrno(await session.send(bed.req.regionRead(0, 8, 4)), Errno.EIO);
  const r = decodeRegionReadReply(assertOk(await session.send(bed.req.regionRead(0, 12, 4))).payload);
  assert.equal(r.data, Buffer.alloc(4, 7));
  session.stop();
});

test('an operator handler that dies fails its access with EIO, and every later one too', async () => {
  const device = pciDevice({
    ids: { vendorId: 1, deviceId: 2, classCode: 0 },
    bars: { 0: memoryBar(4096, (access$) => access$.pipe(map(() => { throw new Error('dead'); }))), 1: memoryBar(4096) },
  });
  const bed = testBed(device);
  const session = bed.open();
  assertErrno(await session.send(bed.req.regionRead(0, 0, 4)), Errno.EIO);
  assertErrno(await session.send(bed.req.regionRead(0, 0, 4)), Errno.EIO);
  assertOk(await session.send(bed.req.regionRead(1, 0, 4)));
  session.stop();
});

test('a read handler whose Observable completes with no value answers EIO, and the next read is served', async () => {
  const device = pciDevice({
    ids: { vendorId: 1, deviceId: 2, classCode: 0 },
    bars: { 0: memoryBar(4096, { read: (offset, count) => (offset === 0 ? EMPTY : of(Buffer.alloc(count, 5))) }) },
  });
  const bed = testBed(device);
  const session = bed.open();
  assertErrno(await session.send(bed.req.regionRead(0, 0, 4)), Errno.EIO);
  const r = decodeRegionReadReply(assertOk(await session.send(bed.req.regionRead(0, 4, 4))).payload);
  assert.equal(r.data, Buffer.alloc(4, 5));
  session.stop();
});

test.run();
