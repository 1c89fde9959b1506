// DEVICE_GET_REGION_INFO (after libvfio-user's test_device_get_region_info.py).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Command, RegionFlags, RegionType } from '../../src/protocol/constants.js';
import { Errno } from '../../src/protocol/errno.js';
import { decodeRegionInfoReply } from '../../src/protocol/region-info.js';
import { K, RAM_SIZE, ROM, assertErrno, assertOk, openSink } from './fixtures.js';

const RW = RegionFlags.READ | RegionFlags.WRITE;

test('an index beyond the last region is EINVAL', async () => {
  const { session, req } = openSink();
  assertErrno(await session.send(req.regionInfo(10)), Errno.EINVAL);
  assertErrno(await session.send(req.regionInfo(0xffffffff)), Errno.EINVAL);
  assertOk(await session.send(req.regionInfo(0)));
  session.stop();
});

test('argsz below 32 is EINVAL', async () => {
  const { session, req } = openSink();
  assertErrno(await session.send(req.regionInfo(0, 16)), Errno.EINVAL);
  session.stop();
});

test('a payload shorter than 32 bytes is EINVAL', async () => {
  const { session, req } = openSink();
  assertErrno(await session.send(req.frame(Command.DEVICE_GET_REGION_INFO, Buffer.alloc(16))), Errno.EINVAL);
  session.stop();
});

test('BARs, ROM and config space report their sizes and flags; VGA and the 64-bit upper half are empty', async () => {
  const { session, req } = openSink();
  const info = async (index: number) => decodeRegionInfoReply(assertOk(await session.send(req.regionInfo(index))).payload);
  assert.equal([(await info(K.IO)).size, (await info(K.IO)).flags], [16, RW]);
  assert.equal([(await info(K.MMIO)).size, (await info(K.MMIO)).flags], [4096, RW]);
  assert.equal([(await info(K.ROM)).size, (await info(K.ROM)).flags], [2048, RegionFlags.READ]);
  assert.ok(ROM.length < 2048);
  assert.equal([(await info(K.CONFIG)).size, (await info(K.CONFIG)).flags], [4096, RW]);
  assert.equal([(await info(3)).size, (await info(3)).flags], [0, 0]);
  assert.equal([(await info(8)).size, (await info(8)).flags], [0, 0]);
  session.stop();
});

test('a RAM region with argsz 32 reports MMAP and the full argsz, but carries no caps and no fd', async () => {
  const { session, req } = openSink();
  const reply = assertOk(await session.send(req.regionInfo(K.RAM)));
  const info = decodeRegionInfoReply(reply.payload);
  assert.is(info.flags, RW | RegionFlags.MMAP);
  assert.is(info.argsz, 32 + 32);
  assert.ok(info.truncated);
  assert.is(reply.fds.length, 0);
  session.stop();
});

test('a RAM region with enough argsz carries its sparse areas and exactly one fd', async () => {
  const { session, req } = openSink();
  const reply = assertOk(await session.send(req.regionInfo(K.RAM, 64)));
  const info = decodeRegionInfoReply(reply.payload);
  assert.is(info.flags, RW | RegionFlags.MMAP | RegionFlags.CAPS);
  assert.is(info.size, RAM_SIZE);
  assert.equal(info.caps, [{ kind: 'sparse_mmap', areas: [{ offset: 4096, size: 8192 }] }]);
  assert.is(reply.fds.length, 1);
  session.stop();
});

test('to a client that takes no fds, a RAM region is an ordinary trapped region', async () => {
  const { session, req } = openSink({ client: { max_msg_fds: 0, max_data_xfer_size: 1048576, pgsizes: 4096, max_dma_maps: 65535 } });
  const reply = assertOk(await session.send(req.regionInfo(K.RAM, 64)));
  const info = decodeRegionInfoReply(reply.payload);
  assert.is(info.flags, RW);
  assert.equal(info.caps, []);
  assert.is(reply.fds.length, 0);
  session.stop();
});

test('a device-specific region carries CAP_TYPE', async () => {
  const { session, req } = openSink();
  const info = decodeRegionInfoReply(assertOk(await session.send(req.regionInfo(K.VENDOR, 64))).payload);
  assert.is(info.size, 256);
  assert.equal(info.caps, [{ kind: 'type', type: (RegionType.PCI_VENDOR_TYPE | 0x1234) >>> 0, subtype: 7 }]);
  session.stop();
});

test.run();
