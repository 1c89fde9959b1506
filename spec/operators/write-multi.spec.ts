import { from, map, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isCoalescible, writeMulti } from '../../src/operators/write-multi.js';
import { Command, HeaderFlags, MessageType, decodeWriteMultiRequest, encodeRegionWriteRequest } from '../../src/protocol/index.js';
import type { OutgoingMessage } from '../../src/protocol/frame.js';

const scheduler = () => new TestScheduler((actual, expected) => assert.equal(actual, expected));
const POSTED = MessageType.COMMAND | HeaderFlags.NO_REPLY;
const w = (id: number, bytes = 4, flags = POSTED): OutgoingMessage => ({
  id,
  command: Command.REGION_WRITE,
  flags,
  payload: encodeRegionWriteRequest({ offset: id * 8, region: 2, data: Buffer.alloc(bytes, id) }),
});
const r = (id: number): OutgoingMessage => ({ id, command: Command.REGION_READ, flags: MessageType.COMMAND, payload: Buffer.alloc(16) });

/** A readable summary: `W<id>` for a write, `R<id>` for a read, `M[<offsets>]` for a WRITE_MULTI. */
const summary = (m: OutgoingMessage): string => {
  if (m.command === Command.REGION_WRITE_MULTI) {
    assert.ok(m.flags & HeaderFlags.NO_REPLY, 'WRITE_MULTI is always posted');
    return `M[${decodeWriteMultiRequest(m.payload as Buffer).entries.map((e) => e.offset / 8).join(',')}]`;
  }
  return `${m.command === Command.REGION_WRITE ? 'W' : 'R'}${m.id}`;
};
const run = (source: Observable<OutgoingMessage>, hold: boolean | (() => boolean), ts: TestScheduler) =>
  source.pipe(writeMulti({ shouldHold: typeof hold === 'function' ? hold : () => hold, scheduler: ts }), map(summary));

test('with nothing backed up every message passes unchanged', () => {
  const ts = scheduler();
  ts.run(({ cold, expectObservable, expectSubscriptions }) => {
    const src = cold('-a-b-c-|', { a: w(1), b: w(2), c: r(3) });
    expectObservable(run(src, false, ts)).toBe('-a-b-c-|', { a: 'W1', b: 'W2', c: 'R3' });
    expectSubscriptions(src.subscriptions).toBe('^------!');
  });
});

test('held writes leave as one WRITE_MULTI before the next other request', () => {
  const ts = scheduler();
  ts.run(({ hot, expectObservable, expectSubscriptions }) => {
    const src = hot('-(abcd)-|', { a: w(1), b: w(2), c: w(3), d: r(4) });
    expectObservable(run(src, true, ts)).toBe('-(xy)---|', { x: 'M[1,2,3]', y: 'R4' });
    expectSubscriptions(src.subscriptions).toBe('^-------!');
  });
});

test('held writes leave at the scheduler\'s next turn when nothing else comes', () => {
  const ts = scheduler();
  ts.run(({ cold, expectObservable }) => {
    const src = cold('-(ab)---c|', { a: w(1), b: w(2), c: r(3) });
    expectObservable(run(src, true, ts)).toBe('-x------y|', { x: 'M[1,2]', y: 'R3' });
  });
});

test('one held write leaves as it was', () => {
  const ts = scheduler();
  ts.run(({ cold, expectObservable }) => {
    expectObservable(run(cold('-a|', { a: w(1) }), true, ts)).toBe('-a|', { a: 'W1' });
  });
});

test('200 entries fill a message at once; the 201st starts the next one', () => {
  const ts = scheduler();
  ts.run(({ expectObservable }) => {
    const writes = Array.from({ length: 201 }, (_, i) => w(i + 1));
    const first = `M[${writes.slice(0, 200).map((m) => m.id).join(',')}]`;
    expectObservable(run(from(writes), true, ts)).toBe('(xy|)', { x: first, y: 'W201' });
  });
});

test('once one write is held the next ones join it even when shouldHold turns false', () => {
  const ts = scheduler();
  let asked = 0;
  ts.run(({ cold, expectObservable }) => {
    const src = cold('(ab)|', { a: w(1), b: w(2) });
    expectObservable(run(src, () => asked++ === 0, ts)).toBe('(x)-|', { x: 'M[1,2]' });
  });
});

test('writes above 8 bytes, non-posted writes and reads are never held, and flush the held ones first', () => {
  const ts = scheduler();
  ts.run(({ cold, expectObservable }) => {
    const src = cold('(abcde)|', { a: w(1), b: w(2, 9), c: w(3), d: w(4, 4, MessageType.COMMAND), e: w(5, 8) });
    expectObservable(run(src, true, ts)).toBe('(vwxyz)|', { v: 'W1', w: 'W2', x: 'W3', y: 'W4', z: 'W5' });
  });
});

test('a write in pieces joins as its entry; one that cannot be an entry passes unchanged, after the held ones', () => {
  const ts = scheduler();
  ts.run(({ cold, expectObservable }) => {
    const whole = w(2).payload as Buffer;
    const pieces = { ...w(2), payload: [whole.subarray(0, 16), whole.subarray(16)] };
    const short = { ...w(3), payload: Buffer.alloc(8) };
    const lying = { ...w(4), payload: [whole.subarray(0, 16), Buffer.alloc(2)] }; // count 4, 2 data bytes
    const src = cold('(abcd)|', { a: w(1), b: pieces, c: short, d: lying });
    expectObservable(run(src, true, ts)).toBe('(xyz)-|', { x: 'M[1,2]', y: 'W3', z: 'W4' });
  });
});

test('isCoalescible wants a posted REGION_WRITE of at most 8 bytes without fds', () => {
  assert.ok(isCoalescible(w(1, 8)));
  assert.ok(isCoalescible(w(1, 0)));
  assert.not.ok(isCoalescible(w(1, 9)));
  assert.not.ok(isCoalescible({ ...w(1), fds: [3] }));
  assert.not.ok(isCoalescible(w(1, 4, MessageType.COMMAND)));
  assert.not.ok(isCoalescible(r(1)));
});

test.run();
