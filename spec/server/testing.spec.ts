// The test bed itself: a device driven by a marble string of frames, its outputs asserted as marbles.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestScheduler } from 'rxjs/testing';
import { filter, map, scan } from 'rxjs';
import { memoryBar, msix, msixBar, pciDevice, testBed, type AccessResult, type RegionOperator } from '../../src/server/index.js';
import { scratchHandler } from './fixtures.js';

const scheduler = () => new TestScheduler((actual, expected) => assert.equal(actual, expected));

test('replies come in the frame of their command, in order', () => {
  const device = pciDevice({ ids: { vendorId: 1, deviceId: 2, classCode: 0 }, bars: { 0: memoryBar(4096, scratchHandler(4096).handler) } });
  scheduler().run(({ hot, expectObservable }) => {
    const bed = testBed(device);
    const { req } = bed;
    const input = hot('-a--b-(cd)', { a: req.regionWrite(0, 8, Buffer.from('hi')), b: req.regionRead(0, 8, 2), c: req.regionRead(0, 4096, 1), d: req.deviceInfo() });
    expectObservable(bed.run(input)).toBe('-w--r-(ei)', {
      w: { kind: 'reply', command: 'REGION_WRITE' },
      r: { kind: 'reply', command: 'REGION_READ', data: Buffer.from('hi').toString('hex') },
      e: { kind: 'error', command: 'REGION_READ', errno: 'EINVAL' },
      i: { kind: 'reply', command: 'DEVICE_GET_INFO' },
    });
  });
});

/** Counts writes to offset 0 and raises MSI-X vector 0 on every second one. */
const everySecondWrite: RegionOperator = (access$, ctx) =>
  access$.pipe(
    scan((acc: { n: number; result?: AccessResult }, a) => (a.kind === 'write' ? { n: acc.n + 1, result: { access: a } } : { n: acc.n, result: { access: a, data: Buffer.alloc(a.count, acc.n) } }), { n: 0 }),
    map((s) => {
      if (s.result?.access.kind === 'write' && s.n % 2 === 0) ctx.trigger('msix', 0);
      return s.result;
    }),
    filter((r): r is AccessResult => r !== undefined),
  );

test('interrupts appear as irq outputs, after the reply of the command that raised them', () => {
  const device = pciDevice({ ids: { vendorId: 1, deviceId: 2, classCode: 0 }, bars: { 0: memoryBar(4096, everySecondWrite), 2: msixBar(1) }, capabilities: [msix(1, 2)] });
  scheduler().run(({ hot, expectObservable }) => {
    const bed = testBed(device);
    const w = () => bed.req.regionWrite(0, 0, Buffer.from([1]));
    const input = hot('-i-a-b-----c-d', { i: bed.irqs('msix', 0, 1), a: w(), b: w(), c: w(), d: w() });
    const ok = { kind: 'reply', command: 'REGION_WRITE' };
    expectObservable(bed.run(input)).toBe('-s-a-(bx)--c-(dx)', { s: { kind: 'reply', command: 'DEVICE_SET_IRQS' }, a: ok, b: ok, c: ok, d: ok, x: { kind: 'irq', type: 'msix', vector: 0 } });
  });
});

test('without VERSION first, the first command is refused and nothing else is served', () => {
  const device = pciDevice({ ids: { vendorId: 1, deviceId: 2, classCode: 0 } });
  scheduler().run(({ hot, expectObservable }) => {
    const bed = testBed(device);
    const input = hot('-a-b', { a: bed.req.deviceInfo(), b: bed.req.deviceInfo() });
    expectObservable(bed.run(input, { version: false })).toBe('-e', { e: { kind: 'error', command: 'DEVICE_GET_INFO', errno: 'EINVAL' } });
  });
});

test.run();
