import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { TestScheduler } from 'rxjs/testing';
import { selectMessages } from '../../src/operators/index.js';
import { Command, encodeRegionReadRequest, encodeRegionWriteRequest, encodeRegionInfoRequest } from '../../src/protocol/index.js';
import { traceOf, type TraceEvent } from '../../src/wire/trace.js';

const test = suite('selectMessages');
const scheduler = () => new TestScheduler((a, b) => assert.equal(a, b));

const msg = (direction: 'in' | 'out', id: number, command: number, reply: boolean, payload?: Buffer, error = 0): TraceEvent =>
  traceOf(direction, { id, command, size: 16 + (payload?.length ?? 0), flags: (reply ? 1 : 0) | (error ? 0x20 : 0), error }, 0, payload);

const events = {
  a: msg('out', 1, Command.REGION_WRITE, false, encodeRegionWriteRequest({ region: 0, offset: 0, data: Buffer.alloc(4) })),
  b: msg('in', 1, Command.REGION_WRITE, true),
  c: msg('out', 2, Command.REGION_READ, false, encodeRegionReadRequest({ region: 2, offset: 0, count: 4 })),
  d: msg('out', 3, Command.REGION_READ, false, encodeRegionReadRequest({ region: 0, offset: 8, count: 4 })),
  e: msg('in', 2, Command.REGION_READ, true, undefined, 22),
  f: msg('in', 3, Command.REGION_READ, true, undefined, 14),
  g: msg('out', 4, Command.DEVICE_GET_REGION_INFO, false, encodeRegionInfoRequest({ index: 0 })),
  h: msg('out', 5, Command.DEVICE_RESET, false),
};

test('keeps the accesses and info queries of a region, with their replies matched by id (error replies too)', () => {
  scheduler().run(({ cold, expectObservable }) => {
    const source = cold('abcdefgh|', events);
    expectObservable(source.pipe(selectMessages({ regions: [0] }))).toBe('ab-d-fg-|', events);
  });
});

test('keeps a command and its replies', () => {
  scheduler().run(({ cold, expectObservable }) => {
    expectObservable(cold('abcdefgh|', events).pipe(selectMessages({ commands: [Command.REGION_READ] }))).toBe('--cdef--|', events);
  });
});

test('keeps error replies only; criteria combine', () => {
  scheduler().run(({ cold, expectObservable }) => {
    expectObservable(cold('abcdefgh|', events).pipe(selectMessages({ errors: true }))).toBe('----ef--|', events);
    expectObservable(cold('abcdefgh|', events).pipe(selectMessages({ errors: true, regions: [2] }))).toBe('----e---|', events);
  });
});

test('an empty selection keeps everything', () => {
  scheduler().run(({ cold, expectObservable }) => {
    expectObservable(cold('abcdefgh|', events).pipe(selectMessages({}))).toBe('abcdefgh|', events);
  });
});

test.run();
