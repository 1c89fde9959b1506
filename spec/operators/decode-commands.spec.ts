import { TestScheduler } from 'rxjs/testing';
import { map } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeCommand, decodeCommands } from '../../src/operators/decode-commands.js';
import { Command, Errno, encodeRegionReadRequest, encodeDmaMapRequest, encodeVersionRequest } from '../../src/protocol/index.js';
import { commandFrame } from '../../src/wire/mock.js';

const read = commandFrame(1, Command.REGION_READ, encodeRegionReadRequest({ offset: 0x10, region: 2, count: 4 }));
const short = commandFrame(2, Command.REGION_READ, Buffer.alloc(7));
const unknown = commandFrame(3, 99, Buffer.alloc(4), [9]);

test('routes known, malformed and unknown commands apart (marble)', () => {
  const ts = new TestScheduler((a, e) => assert.equal(a, e));
  ts.run(({ cold, expectObservable, expectSubscriptions }) => {
    const frames$ = cold('-a-b-c|', { a: read, b: short, c: unknown });
    const kinds = frames$.pipe(
      decodeCommands(),
      map((m) => (m.kind === 'command' ? m.name : m.kind)),
    );
    expectObservable(kinds).toBe('-a-b-c|', { a: 'REGION_READ', b: 'malformed', c: 'unknown' });
    expectSubscriptions(frames$.subscriptions).toBe('^-----!');
  });
});

test('unsubscribing the decoded stream lets go of the frames (marble)', () => {
  const ts = new TestScheduler((a, e) => assert.equal(a, e));
  ts.run(({ hot, expectObservable, expectSubscriptions }) => {
    const frames$ = hot('-a-b-c-|', { a: read, b: short, c: unknown });
    expectObservable(frames$.pipe(decodeCommands(), map((m) => m.kind)), '^--!').toBe('-a-', { a: 'command' });
    expectSubscriptions(frames$.subscriptions).toBe('^--!');
  });
});

test('a known command carries its decoded body and its frame (which keeps the fds)', () => {
  const m = decodeCommand(read);
  assert.is(m.kind, 'command');
  if (m.kind !== 'command' || m.name !== 'REGION_READ') throw new Error('not a REGION_READ');
  assert.equal({ offset: m.body.offset, region: m.body.region, count: m.body.count }, { offset: 0x10, region: 2, count: 4 });
  assert.is(decodeCommand(unknown).frame.fds[0], 9);
});

test('a malformed payload names the command and field and carries the errno to answer', () => {
  const m = decodeCommand(short);
  if (m.kind !== 'malformed') throw new Error('expected malformed');
  assert.is(m.error.command, 'REGION_READ');
  assert.is(m.error.errno, Errno.EINVAL);
});

test('limits are enforced: a read above max_data_xfer_size is malformed with E2BIG', () => {
  const big = commandFrame(4, Command.REGION_READ, encodeRegionReadRequest({ offset: 0, region: 0, count: 8192 }));
  const m = decodeCommand(big, { maxDataXferSize: 4096 });
  if (m.kind !== 'malformed') throw new Error('expected malformed');
  assert.is(m.error.errno, Errno.E2BIG);
});

test('VERSION and DMA_MAP decode to their typed bodies', () => {
  const v = decodeCommand(commandFrame(5, Command.VERSION, encodeVersionRequest({ major: 0, minor: 0, json: { capabilities: { max_msg_fds: 4 } } })));
  const d = decodeCommand(commandFrame(6, Command.DMA_MAP, encodeDmaMapRequest({ flags: 3, offset: 0, address: 0x1000, size: 0x1000 })));
  assert.equal(v.kind === 'command' && v.name === 'VERSION' ? v.body.major : -1, 0);
  assert.equal(d.kind === 'command' && d.name === 'DMA_MAP' ? d.body.address : -1, 0x1000);
});

test.run();
