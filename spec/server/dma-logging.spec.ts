// DMA dirty logging (after libvfio-user's test_dma_logging*): DMA_LOGGING_START / REPORT / STOP.
import { lastValueFrom } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DeviceFeature } from '../../src/protocol/constants.js';
import { dirtyAddresses, dirtyBitmapSize } from '../../src/protocol/dirty-bitmap.js';
import { decodeDmaLoggingReport, decodeDmaLoggingStart, encodeDmaLoggingReportRequest, encodeDmaLoggingStart } from '../../src/protocol/dma-logging.js';
import { Errno } from '../../src/protocol/errno.js';
import { decodeDeviceFeatureReply } from '../../src/protocol/feature.js';
import { DirtyLog } from '../../src/protocol/dirty-log.js';
import { assertErrno, assertOk, openSink } from './fixtures.js';

const { GET, SET, DMA_LOGGING_START, DMA_LOGGING_STOP, DMA_LOGGING_REPORT } = DeviceFeature;
const PAGE = 4096;

const start = (page_size = PAGE, ranges: { iova: number; length: number }[] = []) => encodeDmaLoggingStart({ page_size, ranges });

/** The dirty addresses DMA_LOGGING_REPORT gives for a range. */
const report = async (s: ReturnType<typeof openSink>, iova: number, length: number, page_size = PAGE): Promise<number[]> => {
  const range = { iova, length, page_size };
  const reply = decodeDeviceFeatureReply(assertOk(await s.session.send(s.req.feature(GET | DMA_LOGGING_REPORT, encodeDmaLoggingReportRequest(range)))).payload);
  const data = decodeDmaLoggingReport(reply.data, range);
  assert.is(data.bitmap.length, dirtyBitmapSize(length, page_size));
  return dirtyAddresses(data.bitmap, range);
};

const dmaWrite = (s: ReturnType<typeof openSink>, iova: number, bytes: number) => lastValueFrom(s.ctx().dma.write(iova, Buffer.alloc(bytes, 1)), { defaultValue: undefined });

test('writes through the mapping are reported per page and cleared by the report', async () => {
  const s = openSink();
  assertOk(await s.session.send(s.bed.map(0, 0x10000, 'fd')));
  const reply = decodeDeviceFeatureReply(assertOk(await s.session.send(s.req.feature(SET | DMA_LOGGING_START, start()))).payload);
  assert.is(decodeDmaLoggingStart(reply.data).page_size, PAGE, 'the page size chosen');
  await dmaWrite(s, 0x1ff0, 0x20); // pages 1 and 2
  await dmaWrite(s, 0x8000, 1); // page 8
  assert.equal(await report(s, 0, 0x10000), [0x1000, 0x2000, 0x8000]);
  assert.equal(await report(s, 0, 0x10000), [], 'a report clears what it showed');
  await dmaWrite(s, 0x3000, 1);
  assert.equal(await report(s, 0x2000, 0x2000), [0x3000], 'a range inside the mapping');
  s.session.stop();
});

test('a report at another page size ORs or splits the logged pages', async () => {
  const s = openSink();
  assertOk(await s.session.send(s.bed.map(0, 0x10000, 'fd')));
  assertOk(await s.session.send(s.req.feature(SET | DMA_LOGGING_START, start())));
  await dmaWrite(s, 0x3000, 1);
  assert.equal(await report(s, 0, 0x10000, 0x4000), [0], 'page 3 of 4 KiB is in the first 16 KiB page');
  await dmaWrite(s, 0x5000, 1);
  assert.equal(await report(s, 0, 0x10000, 0x800), [0x5000, 0x5800], 'a 4 KiB page is two 2 KiB pages');
  s.session.stop();
});

test('message-mode mappings are not logged (those writes are the client\'s to track)', async () => {
  const s = openSink();
  assertOk(await s.session.send(s.bed.map(0, 0x10000, 'message')));
  assertOk(await s.session.send(s.req.feature(SET | DMA_LOGGING_START, start())));
  await dmaWrite(s, 0x1000, 8);
  assert.equal(await report(s, 0, 0x10000), []);
  s.session.stop();
});

test('only the ranges asked are logged', async () => {
  const s = openSink();
  assertOk(await s.session.send(s.bed.map(0, 0x10000, 'fd')));
  assertOk(await s.session.send(s.req.feature(SET | DMA_LOGGING_START, start(PAGE, [{ iova: 0x4000, length: 0x2000 }]))));
  await dmaWrite(s, 0x3000, 0x2000); // pages 3 and 4; only 4 is logged
  assert.equal(await report(s, 0, 0x10000), [0x4000]);
  s.session.stop();
});

test('overlapping, unaligned or empty ranges, and a second start at another page size, are EINVAL', async () => {
  const s = openSink();
  for (const ranges of [
    [{ iova: 0, length: 0x2000 }, { iova: 0x1000, length: 0x1000 }],
    [{ iova: 0x800, length: 0x1000 }],
    [{ iova: 0, length: 0x1800 }],
    [{ iova: 0, length: 0 }],
  ]) {
    assertErrno(await s.session.send(s.req.feature(SET | DMA_LOGGING_START, start(PAGE, ranges))), Errno.EINVAL);
  }
  assertErrno(await s.session.send(s.req.feature(SET | DMA_LOGGING_START, start(3000))), Errno.EINVAL);
  assertOk(await s.session.send(s.req.feature(SET | DMA_LOGGING_START, start())));
  assertOk(await s.session.send(s.req.feature(SET | DMA_LOGGING_START, start())), 'the same page size again is accepted');
  assertErrno(await s.session.send(s.req.feature(SET | DMA_LOGGING_START, start(2 * PAGE))), Errno.EINVAL);
  s.session.stop();
});

test('REPORT: without logging EINVAL, argsz too small for the bitmap EINVAL, a bad page size EINVAL; STOP ends logging', async () => {
  const s = openSink();
  const request = (page_size = PAGE) => encodeDmaLoggingReportRequest({ iova: 0, length: 65 * PAGE, page_size });
  assertErrno(await s.session.send(s.req.feature(GET | DMA_LOGGING_REPORT, request())), Errno.EINVAL);
  assertOk(await s.session.send(s.req.feature(SET | DMA_LOGGING_START, start())));
  // 65 pages: two u64 words of bitmap.
  assertErrno(await s.session.send(s.req.feature(GET | DMA_LOGGING_REPORT, request(), 8 + 24 + 8)), Errno.EINVAL);
  const ok = decodeDeviceFeatureReply(assertOk(await s.session.send(s.req.feature(GET | DMA_LOGGING_REPORT, request(), 8 + 24 + 16))).payload);
  assert.is(ok.data.length, 24 + 16);
  const bad = Buffer.from(request());
  bad.writeUInt32LE(3000, 16);
  assertErrno(await s.session.send(s.req.feature(GET | DMA_LOGGING_REPORT, bad)), Errno.EINVAL);
  assertOk(await s.session.send(s.req.feature(SET | DMA_LOGGING_STOP)));
  assertErrno(await s.session.send(s.req.feature(GET | DMA_LOGGING_REPORT, request())), Errno.EINVAL);
  s.session.stop();
});

test('the device picks at least a 4 KiB page; a report larger than max_data_xfer_size is E2BIG before anything is made', async () => {
  const s = openSink({ limits: { maxDataXferSize: 4096 } });
  const chosen = decodeDmaLoggingStart(decodeDeviceFeatureReply(assertOk(await s.session.send(s.req.feature(SET | DMA_LOGGING_START, start(512)))).payload).data).page_size;
  assert.is(chosen, PAGE);
  const t0 = Date.now();
  const huge = encodeDmaLoggingReportRequest({ iova: 0, length: 2 ** 40, page_size: 64 });
  assertErrno(await s.session.send(s.req.feature(GET | DMA_LOGGING_REPORT, huge, 0xffffffff)), Errno.E2BIG);
  assert.ok(Date.now() - t0 < 1000, 'refused at once');
  // 4096 bytes of bitmap is the limit: 32768 pages.
  const most = encodeDmaLoggingReportRequest({ iova: 0, length: 32768 * PAGE, page_size: PAGE });
  assertOk(await s.session.send(s.req.feature(GET | DMA_LOGGING_REPORT, most, 8 + 24 + 4096)));
  s.session.stop();
});

test('DirtyLog: marks and reports pages, with or without ranges', () => {
  const log = new DirtyLog(PAGE, []);
  log.mark(0x0fff, 2);
  assert.is(log.dirtyPages, 2);
  const bitmap = log.report({ iova: 0, length: 0x4000, page_size: PAGE });
  assert.equal([...bitmap], [0b11, 0, 0, 0, 0, 0, 0, 0]);
  assert.is(log.dirtyPages, 0);
  const ranged = new DirtyLog(PAGE, [{ iova: 0x10000, length: PAGE }]);
  ranged.mark(0, 0x20000);
  assert.is(ranged.dirtyPages, 1);
});

test.run();
