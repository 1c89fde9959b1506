// Device access to guest memory: through the mapping when the client sent an fd, by
// DMA_READ/DMA_WRITE messages otherwise, never outside a mapping or its permissions.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { firstValueFrom, lastValueFrom } from 'rxjs';
import { DeviceFeature, DmaMapFlags } from '../../src/protocol/constants.js';
import { decodeDmaLoggingReport, encodeDmaLoggingReportRequest, encodeDmaLoggingStart } from '../../src/protocol/dma-logging.js';
import { decodeDeviceFeatureReply } from '../../src/protocol/feature.js';
import { Errno } from '../../src/protocol/errno.js';
import { DmaError, testBed } from '../../src/server/index.js';
import { assertOk, kitchenSink, openSink } from './fixtures.js';
import type { DeviceContext } from '../../src/server/index.js';

const dmaOutputs = (outputs: readonly { kind: string }[]) => outputs.filter((o) => o.kind.startsWith('dma'));

const rejects = async (p: Promise<unknown>, errno: number): Promise<DmaError> => {
  try {
    await p;
  } catch (e) {
    assert.instance(e, DmaError);
    assert.is((e as DmaError).errno, errno, (e as Error).message);
    return e as DmaError;
  }
  return assert.unreachable('expected a DmaError') as never;
};

test('through an fd mapping: reads and writes guest memory directly, with no messages', async () => {
  const { bed, session, ctx } = openSink();
  bed.memory.write('guest data', 0x2010);
  assertOk(await session.send(bed.map(0x2000, 0x2000, 'fd')));
  assert.is((await firstValueFrom(ctx().dma.read(0x2010, 10))).toString(), 'guest data');
  await lastValueFrom(ctx().dma.write(0x3ffc, Buffer.from('tail')), { defaultValue: undefined });
  assert.is(bed.memory.subarray(0x3ffc, 0x4000).toString(), 'tail');
  assert.equal(dmaOutputs(session.outputs), []);
  session.stop();
});

test('without an fd: DMA_READ and DMA_WRITE requests, chunked by the client\'s max_data_xfer_size', async () => {
  const { bed, session, ctx } = openSink({ client: { max_msg_fds: 8, max_data_xfer_size: 4096, pgsizes: 4096, max_dma_maps: 100, write_multiple: true } });
  bed.memory.fill(0x5a, 0x1000, 0x4000);
  assertOk(await session.send(bed.map(0x1000, 0x3000, 'message')));
  const data = await firstValueFrom(ctx().dma.read(0x1800, 10000));
  assert.ok(data.equals(Buffer.alloc(10000, 0x5a)));
  await lastValueFrom(ctx().dma.write(0x1000, Buffer.alloc(5000, 1)), { defaultValue: undefined });
  assert.ok(bed.memory.subarray(0x1000, 0x1000 + 5000).equals(Buffer.alloc(5000, 1)));
  assert.equal(dmaOutputs(session.outputs).map((o) => o.kind), ['dma-read', 'dma-read', 'dma-read', 'dma-write', 'dma-write']);
  assert.equal(dmaOutputs(session.outputs).slice(0, 3), [
    { kind: 'dma-read', address: 0x1800, count: 4096 },
    { kind: 'dma-read', address: 0x2800, count: 4096 },
    { kind: 'dma-read', address: 0x3800, count: 10000 - 8192 },
  ]);
  session.stop();
});

test('an access spanning an fd mapping and a message mapping uses each for its part', async () => {
  const { bed, session, ctx } = openSink();
  bed.memory.fill(1, 0x1000, 0x2000);
  bed.memory.fill(2, 0x2000, 0x3000);
  assertOk(await session.send(bed.map(0x1000, 0x1000, 'fd')));
  assertOk(await session.send(bed.map(0x2000, 0x1000, 'message')));
  const data = await firstValueFrom(ctx().dma.read(0x1ff0, 0x20));
  assert.is(data.toString('hex'), '01'.repeat(16) + '02'.repeat(16));
  assert.equal(dmaOutputs(session.outputs), [{ kind: 'dma-read', address: 0x2000, count: 16 }]);
  session.stop();
});

test('byMessage: DMA_READ and DMA_WRITE even where the client sent an fd (libvfio-user\'s vfu_sgl_read/write), not logged', async () => {
  const { bed, session, req, ctx } = openSink({ client: { max_msg_fds: 8, max_data_xfer_size: 1024, pgsizes: 4096, max_dma_maps: 100, write_multiple: false } });
  assertOk(await session.send(bed.map(0x1000, 0x1000, 'fd')));
  assertOk(await session.send(req.feature(DeviceFeature.SET | DeviceFeature.DMA_LOGGING_START, encodeDmaLoggingStart({ page_size: 4096, ranges: [] }))));
  await lastValueFrom(ctx().dma.byMessage.write(0x1000, Buffer.alloc(2048, 7)), { defaultValue: undefined });
  assert.ok(bed.memory.subarray(0x1000, 0x1800).equals(Buffer.alloc(2048, 7)), 'the client wrote its memory');
  const back = await firstValueFrom(ctx().dma.byMessage.read(0x1400, 2048));
  assert.ok(back.equals(Buffer.concat([Buffer.alloc(1024, 7), Buffer.alloc(1024)])));
  const target = Buffer.alloc(4);
  await lastValueFrom(ctx().dma.byMessage.readInto(0x1000, target), { defaultValue: undefined });
  assert.is(target.toString('hex'), '07070707');
  assert.equal(dmaOutputs(session.outputs), [
    { kind: 'dma-write', address: 0x1000, data: '07'.repeat(1024) },
    { kind: 'dma-write', address: 0x1400, data: '07'.repeat(1024) },
    { kind: 'dma-read', address: 0x1400, count: 1024 },
    { kind: 'dma-read', address: 0x1800, count: 1024 },
    { kind: 'dma-read', address: 0x1000, count: 4 },
  ]);
  const range = { iova: 0x1000, length: 0x1000, page_size: 4096 };
  const reply = decodeDeviceFeatureReply(assertOk(await session.send(req.feature(DeviceFeature.GET | DeviceFeature.DMA_LOGGING_REPORT, encodeDmaLoggingReportRequest(range)))).payload);
  assert.equal([...decodeDmaLoggingReport(reply.data, range).bitmap], [0, 0, 0, 0, 0, 0, 0, 0], 'message writes are the client\'s to log');
  await rejects(lastValueFrom(ctx().dma.byMessage.write(0x2000, Buffer.alloc(1))), Errno.EFAULT);
  session.stop();
});

test('bytes outside every mapping are EFAULT, and nothing is read or sent', async () => {
  const { bed, session, ctx } = openSink();
  assertOk(await session.send(bed.map(0x1000, 0x1000, 'message')));
  assertOk(await session.send(bed.map(0x3000, 0x1000, 'message')));
  await rejects(firstValueFrom(ctx().dma.read(0x1f00, 0x200)), Errno.EFAULT);
  await rejects(firstValueFrom(ctx().dma.read(0x0, 4)), Errno.EFAULT);
  await rejects(lastValueFrom(ctx().dma.write(0x3ff0, Buffer.alloc(0x20))), Errno.EFAULT);
  assert.equal(dmaOutputs(session.outputs), []);
  session.stop();
});

test('writing a READ-only mapping or reading a WRITE-only one is EPERM', async () => {
  const { bed, session, ctx } = openSink();
  assertOk(await session.send(bed.map(0x1000, 0x1000, 'fd', DmaMapFlags.READ)));
  assertOk(await session.send(bed.map(0x2000, 0x1000, 'message', DmaMapFlags.WRITE)));
  await rejects(lastValueFrom(ctx().dma.write(0x1000, Buffer.alloc(4))), Errno.EPERM);
  await rejects(firstValueFrom(ctx().dma.read(0x2000, 4)), Errno.EPERM);
  assert.ok(bed.memory.subarray(0x1000, 0x1004).equals(Buffer.alloc(4)));
  session.stop();
});

test('an error reply from the client reaches device code as a DmaError with its errno', async () => {
  const { bed, session, ctx } = openSink({ memory: Buffer.alloc(0x2000) });
  assertOk(await session.send(bed.map(0x1000, 0x2000, 'message')));
  const err = await rejects(firstValueFrom(ctx().dma.read(0x1000, 0x1800)), Errno.EFAULT);
  assert.is(err.iova, 0x1000);
  session.stop();
});

test('a 16-byte DMA_WRITE reply is accepted as well as a header-only one', async () => {
  const { bed, session, ctx } = openSink({ dmaWriteReply: 'full' });
  assertOk(await session.send(bed.map(0, 0x1000, 'message')));
  await lastValueFrom(ctx().dma.write(0x10, Buffer.from('x')), { defaultValue: undefined });
  assert.is(bed.memory[0x10], 'x'.charCodeAt(0));
  session.stop();
});

test('with no client connected, guest memory is EFAULT', async () => {
  let context: DeviceContext | undefined;
  const bed = testBed(kitchenSink([], (c) => (context = c)));
  const session = bed.open();
  session.hangUp();
  await rejects(firstValueFrom(context!.dma.read(0, 4)), Errno.EFAULT);
  session.stop();
});

test('mappings$ follows DMA_MAP and DMA_UNMAP', async () => {
  const { bed, session, req, ctx } = openSink();
  const seen: string[] = [];
  const sub = ctx().mappings$.subscribe((m) => seen.push(m.map((r) => `${r.iova.toString(16)}:${r.mapped ? 'fd' : 'msg'}`).join(',')));
  assertOk(await session.send(bed.map(0x1000, 0x1000, 'fd')));
  assertOk(await session.send(bed.map(0x0, 0x1000, 'message')));
  assertOk(await session.send(req.dmaUnmap({ address: 0x1000, size: 0x1000 })));
  assert.equal(seen, ['', '1000:fd', '0:msg,1000:fd', '0:msg']);
  sub.unsubscribe();
  session.stop();
});

test('readInto fills the device\'s own buffer across an fd mapping and a message mapping', async () => {
  const { bed, session, ctx } = openSink();
  bed.memory.fill(3, 0x1000, 0x2000);
  bed.memory.fill(4, 0x2000, 0x3000);
  assertOk(await session.send(bed.map(0x1000, 0x1000, 'fd')));
  assertOk(await session.send(bed.map(0x2000, 0x1000, 'message')));
  const target = Buffer.alloc(0x30, 0xee);
  await lastValueFrom(ctx().dma.readInto(0x1ff0, target.subarray(8, 0x28)), { defaultValue: undefined });
  assert.is(target.toString('hex'), 'ee'.repeat(8) + '03'.repeat(0x10) + '04'.repeat(0x10) + 'ee'.repeat(8));
  session.stop();
});

test('readInto outside any mapping fails with EFAULT and leaves the buffer untouched', async () => {
  const { bed, session, ctx } = openSink();
  assertOk(await session.send(bed.map(0x1000, 0x1000, 'fd')));
  const target = Buffer.alloc(16, 0xee);
  await rejects(lastValueFrom(ctx().dma.readInto(0x8000, target), { defaultValue: undefined }), Errno.EFAULT);
  assert.ok(target.equals(Buffer.alloc(16, 0xee)));
  session.stop();
});

test.run();
