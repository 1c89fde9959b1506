// DMA_MAP error behaviour and semantics (after libvfio-user's test_dma_map.py).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Command, DmaMapFlags } from '../../src/protocol/constants.js';
import { Errno } from '../../src/protocol/errno.js';
import { encodeDmaMapRequest } from '../../src/protocol/dma.js';
import { assertErrno, assertOk, openSink } from './fixtures.js';

const RW = DmaMapFlags.READ | DmaMapFlags.WRITE;

test('a payload shorter than the struct is EINVAL', async () => {
  const { session, req } = openSink();
  assertErrno(await session.send(req.frame(Command.DMA_MAP, Buffer.alloc(24))), Errno.EINVAL);
  assertOk(await session.send(req.dmaMap({ address: 0, size: 4096 })));
  session.stop();
});

test('argsz smaller than 32 is EINVAL', async () => {
  const { session, req } = openSink();
  const payload = encodeDmaMapRequest({ argsz: 16, flags: RW, offset: 0, address: 0, size: 4096 });
  assertErrno(await session.send(req.frame(Command.DMA_MAP, payload)), Errno.EINVAL);
  assertOk(await session.send(req.dmaMap({ address: 0, size: 4096 })));
  session.stop();
});

test('unknown flag bits are EINVAL', async () => {
  const { session, req } = openSink();
  assertErrno(await session.send(req.dmaMap({ address: 0, size: 4096, flags: RW | 0x100 })), Errno.EINVAL);
  session.stop();
});

test('neither READ nor WRITE is EINVAL', async () => {
  const { session, req } = openSink();
  assertErrno(await session.send(req.dmaMap({ address: 0, size: 4096, flags: 0 })), Errno.EINVAL);
  session.stop();
});

test('access mode FILE_IO is EINVAL (not supported), and MMAP without an fd is EINVAL', async () => {
  const { bed, session, req } = openSink();
  assertErrno(await session.send(req.dmaMap({ address: 0, size: 4096, flags: RW | DmaMapFlags.MODE_FILE_IO })), Errno.EINVAL);
  assertErrno(await session.send(req.dmaMap({ address: 0, size: 4096, flags: RW | DmaMapFlags.MODE_MMAP })), Errno.EINVAL);
  const fd = bed.io.dup(bed.io.file(Buffer.alloc(4096)));
  assertOk(await session.send(req.dmaMap({ address: 0, size: 4096, flags: RW | DmaMapFlags.MODE_MMAP }, { fds: [fd] })));
  session.stop();
});

test('size 0 is EINVAL', async () => {
  const { session, req } = openSink();
  assertErrno(await session.send(req.dmaMap({ address: 0, size: 0 })), Errno.EINVAL);
  session.stop();
});

test('an address or size not aligned to the page size is EINVAL', async () => {
  const { session, req } = openSink();
  assertErrno(await session.send(req.dmaMap({ address: 0x800, size: 4096 })), Errno.EINVAL);
  assertErrno(await session.send(req.dmaMap({ address: 0, size: 100 })), Errno.EINVAL);
  assertOk(await session.send(req.dmaMap({ address: 0x1000, size: 0x2000 })));
  session.stop();
});

test('an overlapping map is EEXIST, and an identical re-map is accepted', async () => {
  const { bed, session, req } = openSink();
  assertOk(await session.send(bed.map(0x4000, 0x4000, 'fd')));
  assertErrno(await session.send(bed.map(0x6000, 0x4000, 'fd')), Errno.EEXIST);
  assertErrno(await session.send(bed.map(0x2000, 0x4000, 'message')), Errno.EEXIST);
  assertErrno(await session.send(bed.map(0x0, 0x10000, 'message')), Errno.EEXIST);
  assertOk(await session.send(bed.map(0x4000, 0x4000, 'fd')));
  assertOk(await session.send(bed.map(0x8000, 0x1000, 'message')));
  assertOk(await session.send(req.deviceInfo()));
  session.stop();
});

test('a re-map of the same range with other flags is EEXIST', async () => {
  const { bed, session } = openSink();
  assertOk(await session.send(bed.map(0x4000, 0x1000, 'message', DmaMapFlags.READ)));
  assertErrno(await session.send(bed.map(0x4000, 0x1000, 'message', RW)), Errno.EEXIST);
  session.stop();
});

test('more mappings than max_dma_maps is ENOSPC', async () => {
  const { bed, session } = openSink({ limits: { maxDmaMaps: 2 } });
  assertOk(await session.send(bed.map(0x0000, 0x1000, 'message')));
  assertOk(await session.send(bed.map(0x1000, 0x1000, 'fd')));
  assertErrno(await session.send(bed.map(0x2000, 0x1000, 'message')), Errno.ENOSPC);
  assertOk(await session.send(bed.map(0x1000, 0x1000, 'fd')), 'an identical re-map takes no new slot');
  session.stop();
});

test('two fds are EINVAL, and both are closed', async () => {
  const { bed, session, req } = openSink();
  const a = bed.io.file(Buffer.alloc(4096));
  const b = bed.io.file(Buffer.alloc(4096));
  assertErrno(await session.send(req.dmaMap({ address: 0, size: 4096 }, { fds: [a, b] })), Errno.EINVAL);
  assert.not.ok(bed.io.isOpen(a));
  assert.not.ok(bed.io.isOpen(b));
  session.stop();
});

test('an fd whose file is smaller than offset + size is EINVAL (mapping it would risk SIGBUS)', async () => {
  const { bed, session, req } = openSink();
  const fd = bed.io.file(Buffer.alloc(8192));
  assertErrno(await session.send(req.dmaMap({ address: 0, size: 8192, offset: 4096 }, { fds: [fd] })), Errno.EINVAL);
  assert.not.ok(bed.io.isOpen(fd));
  session.stop();
});

test('an offset without an fd is EINVAL', async () => {
  const { session, req } = openSink();
  assertErrno(await session.send(req.dmaMap({ address: 0, size: 4096, offset: 4096 })), Errno.EINVAL);
  session.stop();
});

test('the fd is closed right after the mmap, and the mapping stays', async () => {
  const { bed, session } = openSink();
  const frame = bed.map(0, 0x2000, 'fd');
  assertOk(await session.send(frame));
  assert.not.ok(bed.io.isOpen(frame.fds[0]!));
  session.stop();
});

test('a No_reply DMA_MAP that fails sends nothing, and the next command is served', async () => {
  const { session, req } = openSink();
  session.post(req.dmaMap({ address: 0, size: 0 }, { noReply: true }));
  assertOk(await session.send(req.deviceInfo()));
  assert.is(session.sent.filter((m) => m.command === Command.DMA_MAP).length, 0);
  session.stop();
});

test.run();
