import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  decodeDmaLoggingReport, decodeDmaLoggingReportRequest, decodeDmaLoggingStart,
  encodeDmaLoggingReport, encodeDmaLoggingReportRequest, encodeDmaLoggingStart,
} from '../../src/protocol/dma-logging.js';
import { dirtyBitmapSize } from '../../src/protocol/dirty-bitmap.js';
import { arb, assertHex, assertMalformed, hex, rec } from './helpers.js';

// page_size 4096 | num_ranges 1 | reserved | {iova 0, length 0x10000}
const START = '00 10 00 00 00 00 00 00  01 00 00 00  00 00 00 00  00 00 00 00 00 00 00 00  00 00 01 00 00 00 00 00';
// iova 1 MiB | length 512 KiB (128 pages) | page_size 4096
const REPORT_REQUEST = '00 00 10 00 00 00 00 00  00 00 08 00 00 00 00 00  00 10 00 00 00 00 00 00';
// 128 pages = two u64 words; pages 0, 9 and 127 dirty
const BITMAP = '01 02 00 00 00 00 00 00  00 00 00 00 00 00 00 80';
const reportRequest = { iova: 0x10_0000, length: 0x8_0000, page_size: 4096 };

test('DMA_LOGGING_START: page_size, num_ranges, reserved, ranges', () => {
  const x = { page_size: 4096, ranges: [{ iova: 0, length: 0x10000 }] };
  assertHex(encodeDmaLoggingStart(x), START);
  assert.equal(decodeDmaLoggingStart(hex(START)), x);
});

test('DMA_LOGGING_START: no ranges means log everything', () => {
  assert.equal(decodeDmaLoggingStart(hex('00 10 00 00 00 00 00 00  00 00 00 00  00 00 00 00')), { page_size: 4096, ranges: [] });
});

test('DMA_LOGGING_START: num_ranges beyond the bytes present, short, bad page size', () => {
  const buf = hex(START);
  buf[8] = 2;
  assertMalformed(() => decodeDmaLoggingStart(buf), 'num_ranges');
  buf.writeUInt32LE(0xffffffff, 8);
  assertMalformed(() => decodeDmaLoggingStart(buf), 'num_ranges');
  assertMalformed(() => decodeDmaLoggingStart(hex(START).subarray(0, 12)), 'payload');
  const odd = hex(START);
  odd[0] = 0x01;
  assertMalformed(() => decodeDmaLoggingStart(odd), 'page_size');
  assertMalformed(() => decodeDmaLoggingStart(hex('00 00 00 00 00 00 00 00  00 00 00 00  00 00 00 00')), 'page_size');
});

test('DMA_LOGGING_REPORT request: iova, length, page_size', () => {
  assertHex(encodeDmaLoggingReportRequest(reportRequest), REPORT_REQUEST);
  assert.equal(decodeDmaLoggingReportRequest(hex(REPORT_REQUEST)), reportRequest);
  assertMalformed(() => decodeDmaLoggingReportRequest(hex(REPORT_REQUEST).subarray(0, 16)), 'payload');
  assertMalformed(() => decodeDmaLoggingReportRequest(hex('00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  00 10 00 00 00 00 00 00')), 'length');
});

test('DMA_LOGGING_REPORT reply: the request echoed, then the bitmap', () => {
  const x = { ...reportRequest, bitmap: hex(BITMAP) };
  assertHex(encodeDmaLoggingReport(x), REPORT_REQUEST + BITMAP);
  assert.equal(decodeDmaLoggingReport(hex(REPORT_REQUEST + BITMAP), reportRequest), x);
});

test('DMA_LOGGING_REPORT reply: bitmap of the wrong size, or range not echoed', () => {
  assertMalformed(() => decodeDmaLoggingReport(hex(REPORT_REQUEST + BITMAP).subarray(0, 32)), 'bitmap');
  assertMalformed(() => decodeDmaLoggingReport(hex(`${REPORT_REQUEST}${BITMAP} 00`)), 'bitmap');
  assertMalformed(() => decodeDmaLoggingReport(hex(REPORT_REQUEST + BITMAP), { ...reportRequest, iova: 0 }), 'iova');
  assert.throws(() => encodeDmaLoggingReport({ ...reportRequest, bitmap: hex('00') }), (e: unknown) => e instanceof RangeError);
});

test('logging data round-trips', () => {
  const range = rec({ iova: arb.u64(), length: arb.u64() });
  const pageSize = fc.integer({ min: 0, max: 30 }).map((shift) => 2 ** shift);
  fc.assert(
    fc.property(pageSize, fc.array(range, { maxLength: 8 }), (page_size, ranges) => {
      assert.equal(decodeDmaLoggingStart(encodeDmaLoggingStart({ page_size, ranges })), { page_size, ranges });
    }),
  );
  const report = rec({ iova: arb.u64(), length: fc.integer({ min: 1, max: 1 << 24 }), page_size: fc.integer({ min: 9, max: 16 }).map((s) => 2 ** s) });
  fc.assert(
    fc.property(report, fc.nat(), (r, seed) => {
      const bitmap = Buffer.alloc(dirtyBitmapSize(r.length, r.page_size), seed & 0xff);
      const x = { ...r, bitmap };
      assert.equal(decodeDmaLoggingReportRequest(encodeDmaLoggingReportRequest(r)), r);
      assert.equal(decodeDmaLoggingReport(encodeDmaLoggingReport(x), r), x);
    }),
  );
});

test.run();
