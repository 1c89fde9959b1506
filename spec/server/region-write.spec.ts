// REGION_WRITE (after libvfio-user's test_region_write.py): bounds first, posted writes in order.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Command } from '../../src/protocol/constants.js';
import { PciConfig } from '../../src/pci/index.js';
import { Errno } from '../../src/protocol/errno.js';
import { decodeRegionReadReply, decodeRegionWriteReply, encodeRegionWriteRequest } from '../../src/protocol/region-access.js';
import { K, assertErrno, assertOk, openSink, u32 } from './fixtures.js';

test('count other than the data length is EINVAL', async () => {
  const { session, req } = openSink();
  const payload = encodeRegionWriteRequest({ offset: 0, region: K.IO, data: Buffer.alloc(4) });
  payload.writeUInt32LE(8, 12);
  assertErrno(await session.send(req.frame(Command.REGION_WRITE, payload)), Errno.EINVAL);
  payload.writeUInt32LE(2, 12);
  assertErrno(await session.send(req.frame(Command.REGION_WRITE, payload)), Errno.EINVAL);
  session.stop();
});

test('a write past the end of the region is EINVAL and touches nothing', async () => {
  const { device, session, req } = openSink();
  assertErrno(await session.send(req.regionWrite(K.IO, 14, Buffer.from([1, 2, 3, 4]))), Errno.EINVAL);
  assert.is(device.io.readUInt32LE(12), 0);
  session.stop();
});

test('a write to the read-only ROM is EINVAL', async () => {
  const { session, req } = openSink();
  assertErrno(await session.send(req.regionWrite(K.ROM, 0, Buffer.from([1]))), Errno.EINVAL);
  session.stop();
});

test('a count above our max_data_xfer_size is E2BIG', async () => {
  const { session, req } = openSink({ limits: { maxDataXferSize: 1024 } });
  assertErrno(await session.send(req.regionWrite(K.MMIO, 0, Buffer.alloc(2048))), Errno.E2BIG);
  session.stop();
});

test('the reply echoes offset, region and count', async () => {
  const { device, session, req } = openSink();
  const reply = assertOk(await session.send(req.regionWrite(K.IO, 4, Buffer.from([0xaa, 0xbb]))));
  assert.equal(decodeRegionWriteReply(reply.payload), { offset: 4, region: K.IO, count: 2 });
  assert.is(device.io.readUInt16LE(4), 0xbbaa);
  session.stop();
});

test('posted writes (No_reply) are done in order before a later command is answered', async () => {
  const { session, req } = openSink();
  for (let i = 0; i < 8; i++) session.post(req.regionWrite(K.MMIO, 0, u32(i), { noReply: true }));
  const r = decodeRegionReadReply(assertOk(await session.send(req.regionRead(K.MMIO, 0, 4))).payload);
  assert.is(r.data?.readUInt32LE(0), 7);
  assert.is(session.sent.filter((m) => m.command === Command.REGION_WRITE).length, 0);
  session.stop();
});

test('a failing posted write sends no error reply', async () => {
  const { session, req } = openSink();
  session.post(req.regionWrite(K.IO, 100, u32(1), { noReply: true }));
  assertOk(await session.send(req.deviceInfo()));
  assert.is(session.sent.filter((m) => m.command === Command.REGION_WRITE).length, 0);
  session.stop();
});

test('config writes go through the PCI emulation: the BAR sizing probe reads back the size mask', async () => {
  const { session, req } = openSink();
  assertOk(await session.send(req.configWrite(PciConfig.BAR1, u32(0xffffffff))));
  const r = decodeRegionReadReply(assertOk(await session.send(req.configRead(PciConfig.BAR1, 4))).payload);
  assert.is(r.data?.readUInt32LE(0), 0xfffff000);
  assertOk(await session.send(req.configWrite(PciConfig.VENDOR_ID, u32(0))));
  const ids = decodeRegionReadReply(assertOk(await session.send(req.configRead(PciConfig.VENDOR_ID, 2))).payload);
  assert.is(ids.data?.readUInt16LE(0), 0x1234, 'read-only registers keep their value');
  session.stop();
});

test('config write effects reach device code', async () => {
  const { session, req, ctx } = openSink();
  const effects: string[] = [];
  const sub = ctx().configEffects$.subscribe((e) => effects.push(e.kind));
  assertOk(await session.send(req.configWrite(PciConfig.COMMAND, Buffer.from([0x06, 0x00]))));
  assert.equal(effects, ['command']);
  sub.unsubscribe();
  session.stop();
});

test.run();
