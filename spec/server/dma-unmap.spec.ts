// DMA_UNMAP error behaviour and semantics (after libvfio-user's test_dma_unmap.py).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Command, DmaUnmapFlags } from '../../src/protocol/constants.js';
import { decodeDmaUnmapReply, encodeDmaUnmapRequest } from '../../src/protocol/dma.js';
import { Errno } from '../../src/protocol/errno.js';
import { assertErrno, assertOk, openSink } from './fixtures.js';

test('unmapping a range that matches no mapping exactly is ENOENT', async () => {
  const { bed, session, req } = openSink();
  assertOk(await session.send(bed.map(0x1000, 0x2000, 'message')));
  assertErrno(await session.send(req.dmaUnmap({ address: 0x1000, size: 0x1000 })), Errno.ENOENT);
  assertErrno(await session.send(req.dmaUnmap({ address: 0x2000, size: 0x1000 })), Errno.ENOENT);
  assertErrno(await session.send(req.dmaUnmap({ address: 0x8000, size: 0x1000 })), Errno.ENOENT);
  assertOk(await session.send(req.dmaUnmap({ address: 0x1000, size: 0x2000 })));
  assertErrno(await session.send(req.dmaUnmap({ address: 0x1000, size: 0x2000 })), Errno.ENOENT);
  session.stop();
});

test('the reply echoes the request struct', async () => {
  const { bed, session, req } = openSink();
  assertOk(await session.send(bed.map(0x1000, 0x2000, 'message')));
  const reply = assertOk(await session.send(req.dmaUnmap({ address: 0x1000, size: 0x2000 })));
  assert.equal(decodeDmaUnmapReply(reply.payload), { argsz: 24, flags: 0, address: 0x1000, size: 0x2000 });
  session.stop();
});

test('argsz below 24 is EINVAL', async () => {
  const { bed, session, req } = openSink();
  assertOk(await session.send(bed.map(0, 0x1000, 'message')));
  const payload = encodeDmaUnmapRequest({ argsz: 8, flags: 0, address: 0, size: 0x1000 });
  assertErrno(await session.send(req.frame(Command.DMA_UNMAP, payload)), Errno.EINVAL);
  assertOk(await session.send(req.dmaUnmap({ address: 0, size: 0x1000 })));
  session.stop();
});

test('unknown flags are EINVAL', async () => {
  const { session, req } = openSink();
  assertErrno(await session.send(req.dmaUnmap({ address: 0, size: 0x1000, flags: 0x8 })), Errno.EINVAL);
  session.stop();
});

test('ALL with an address or size is EINVAL', async () => {
  const { session, req } = openSink();
  assertErrno(await session.send(req.dmaUnmap({ address: 0x1000, size: 0, flags: DmaUnmapFlags.ALL })), Errno.EINVAL);
  session.stop();
});

test('the legacy dirty bitmap is EINVAL', async () => {
  const { bed, session, req } = openSink();
  assertOk(await session.send(bed.map(0, 0x1000, 'message')));
  const payload = encodeDmaUnmapRequest({ flags: DmaUnmapFlags.GET_DIRTY_BITMAP, address: 0, size: 0x1000, bitmap: { pgsize: 4096, size: 8 } });
  assertErrno(await session.send(req.frame(Command.DMA_UNMAP, payload)), Errno.EINVAL);
  session.stop();
});

test('ALL removes every mapping, fd-backed or not', async () => {
  const { bed, session, req } = openSink();
  assertOk(await session.send(bed.map(0x0000, 0x1000, 'fd')));
  assertOk(await session.send(bed.map(0x4000, 0x1000, 'message')));
  assertOk(await session.send(req.dmaUnmap({ address: 0, size: 0, flags: DmaUnmapFlags.ALL })));
  assertErrno(await session.send(req.dmaUnmap({ address: 0, size: 0x1000 })), Errno.ENOENT);
  assertOk(await session.send(bed.map(0x0000, 0x1000, 'message')), 'the range is free again');
  session.stop();
});

test('the mmap is gone before the reply', async () => {
  const { bed, session, req } = openSink();
  const views: Buffer[] = [];
  const io = bed.io;
  const map = io.map;
  // Watch the server's mapping through the fake's map (the fake's unmap empties the view).
  (io as { map: typeof map }).map = (fd, offset, length, prot) => {
    const m = map(fd, offset, length, prot);
    views.push(m.bytes);
    return { get bytes() { return m.bytes; }, unmap: () => { m.unmap(); views.push(m.bytes); }, faults: m.faults };
  };
  assertOk(await session.send(bed.map(0x2000, 0x1000, 'fd')));
  const reply = session.send(req.dmaUnmap({ address: 0x2000, size: 0x1000 }));
  assert.is(views.length, 2, 'unmapped synchronously, before the reply is out');
  assert.is(views[1]!.length, 0);
  assertOk(await reply);
  session.stop();
});

test.run();
