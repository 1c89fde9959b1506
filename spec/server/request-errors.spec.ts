// Errors common to every command (after libvfio-user's test_request_errors.py).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Command } from '../../src/protocol/constants.js';
import { Errno } from '../../src/protocol/errno.js';
import { decodeRegionReadReply } from '../../src/protocol/region-access.js';
import { K, assertErrno, assertOk, openSink, u32 } from './fixtures.js';

test('an unknown command is ENOSYS, header only, and its payload and fds are discarded', async () => {
  const { bed, session, req } = openSink();
  const fd = bed.io.eventfd();
  assertErrno(await session.send(req.frame(200, Buffer.alloc(64), { fds: [fd] })), Errno.ENOSYS);
  assert.not.ok(bed.io.isOpen(fd));
  assertOk(await session.send(req.deviceInfo()));
  session.stop();
});

test('the server-to-client DMA_READ and DMA_WRITE sent by a client are ENOSYS', async () => {
  const { session, req } = openSink();
  assertErrno(await session.send(req.frame(Command.DMA_READ, Buffer.alloc(16))), Errno.ENOSYS);
  assertErrno(await session.send(req.frame(Command.DMA_WRITE, Buffer.alloc(16))), Errno.ENOSYS);
  session.stop();
});

test('commands this server does not implement are ENOSYS', async () => {
  const { session, req } = openSink();
  for (const command of [Command.DEVICE_GET_REGION_IO_FDS, 99]) {
    assertErrno(await session.send(req.frame(command, Buffer.alloc(16))), Errno.ENOSYS);
  }
  session.stop();
});

test('an fd with a command that takes none is EINVAL, and it is closed', async () => {
  const { bed, session, req } = openSink();
  const fd = bed.io.eventfd();
  assertErrno(await session.send(req.regionRead(K.IO, 0, 4, { fds: [fd] })), Errno.EINVAL);
  assert.not.ok(bed.io.isOpen(fd));
  session.stop();
});

test('an unknown command with No_reply gets no reply at all', async () => {
  const { session, req } = openSink();
  session.post(req.frame(200, Buffer.alloc(0), { noReply: true }));
  assertOk(await session.send(req.deviceInfo()));
  assert.is(session.sent.filter((m) => m.command === 200).length, 0);
  session.stop();
});

test('pipelined commands are answered in arrival order', async () => {
  const { session, req } = openSink();
  const replies = [
    session.send(req.regionWrite(K.MMIO, 0, u32(1))),
    session.send(req.regionRead(K.MMIO, 0, 4)),
    session.send(req.regionWrite(K.MMIO, 0, u32(2))),
    session.send(req.regionRead(K.MMIO, 0, 4)),
  ];
  const [, a, , b] = await Promise.all(replies);
  assert.is(decodeRegionReadReply(a!.payload).data?.readUInt32LE(0), 1);
  assert.is(decodeRegionReadReply(b!.payload).data?.readUInt32LE(0), 2);
  assert.equal(session.sent.map((m) => m.command), [Command.VERSION, Command.REGION_WRITE, Command.REGION_READ, Command.REGION_WRITE, Command.REGION_READ]);
  session.stop();
});

test('message ids are echoed, even when a client reuses them', async () => {
  const { session, req } = openSink();
  const a = req.frame(Command.DEVICE_GET_INFO, Buffer.from(u32(16).toString('hex').padEnd(32, '0'), 'hex'));
  const reply = await session.send(a);
  assert.is(reply.header.id, a.header.id);
  const again = await session.send(a);
  assert.is(again.header.id, a.header.id);
  session.stop();
});

test.run();
