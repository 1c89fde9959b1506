import { TestScheduler } from 'rxjs/testing';
import { VirtualTimeScheduler, map, type Observable } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createCorrelator, type CallOptions, type DirectCorrelator } from '../../src/wire/correlate.js';
import { correlator } from '../../src/wire/stream-correlator.js';
import { Command } from '../../src/protocol/constants.js';
import { DisconnectedError, MalformedMessageError, RemoteError, ReplyTimeoutError } from '../../src/protocol/errors.js';
import type { Frame, OutgoingMessage } from '../../src/protocol/frame.js';
import { replyFrame } from '../../src/wire/mock.js';

const scheduler = () => new TestScheduler((actual, expected) => assert.equal(actual, expected));
const R = Command.REGION_READ;
const reply = (id: number, tag: string) => replyFrame(id, R, Buffer.from(tag));
const tagOf = (o: Observable<Frame>) => o.pipe(map((f) => f.payload.toString()));

const setup = (replies$: Observable<Frame>, ts: TestScheduler, timeoutMs = 0) => {
  const sent: OutgoingMessage[] = [];
  const closed: number[] = [];
  const c = correlator(replies$, (m) => sent.push(m), { timeoutMs, scheduler: ts, closeFd: (fd) => closed.push(fd) });
  return { c, sent, closed };
};

test('interleaved and out-of-order replies reach their own requests', () => {
  const ts = scheduler();
  ts.run(({ hot, cold, expectObservable }) => {
    const replies$ = hot('----c-a--b', { a: reply(0, 'A'), b: reply(1, 'B'), c: reply(2, 'C') });
    const { c, sent } = setup(replies$, ts);
    expectObservable(tagOf(c.request(R))).toBe('------(a|)', { a: 'A' });
    expectObservable(cold('-x').pipe(map(() => 0)), '^-!').toBe('-0', [0]);
    expectObservable(tagOf(c.request(R))).toBe('---------(b|)', { b: 'B' });
    expectObservable(tagOf(c.request(R))).toBe('----(c|)', { c: 'C' });
    ts.flush();
    assert.equal(sent.map((m) => m.id), [0, 1, 2]);
  });
});

test('a reply for an unknown id is dropped, counted, and its fds closed', () => {
  const ts = scheduler();
  ts.run(({ hot, expectObservable }) => {
    const replies$ = hot('-u-a', { u: replyFrame(99, R, Buffer.alloc(0), undefined, [7]), a: reply(0, 'A') });
    const { c, closed } = setup(replies$, ts);
    expectObservable(tagOf(c.request(R))).toBe('---(a|)', { a: 'A' });
    ts.flush();
    assert.is(c.stats.unmatchedReplies, 1);
    assert.equal(closed, [7]);
  });
});

test('a duplicate reply from the peer is dropped after the first', () => {
  const ts = scheduler();
  ts.run(({ hot, expectObservable }) => {
    const replies$ = hot('-a-a', { a: reply(0, 'A') });
    const { c } = setup(replies$, ts);
    expectObservable(tagOf(c.request(R))).toBe('-(a|)', { a: 'A' });
    ts.flush();
    assert.is(c.stats.unmatchedReplies, 1);
    assert.is(c.stats.pending, 0);
  });
});

test('times out through the scheduler, and the late reply is dropped and counted', () => {
  const ts = scheduler();
  ts.run(({ hot, expectObservable }) => {
    const replies$ = hot('------ 20ms a', { a: reply(0, 'late') });
    const { c } = setup(replies$, ts, 10);
    expectObservable(c.request(R)).toBe('10ms #', undefined, new ReplyTimeoutError('REGION_READ', 0, 10));
    ts.flush();
    assert.is(c.stats.unmatchedReplies, 1);
    assert.is(c.stats.pending, 0);
  });
});

test('a timed-out id is not reused while its late reply may still come', () => {
  const ts = scheduler();
  const got: string[] = [];
  ts.run(({ hot }) => {
    const replies$ = hot('20ms (ab)', { a: reply(0, 'late'), b: reply(1, 'B') });
    const { c, sent } = setup(replies$, ts, 0);
    c.request(R, undefined, { timeoutMs: 5 }).subscribe({ error: () => got.push('timeout') });
    ts.schedule(() => {
      tagOf(c.request(R)).subscribe((t) => got.push(t));
    }, 6);
    ts.flush();
    assert.equal(sent.map((m) => m.id), [0, 1]);
  });
  assert.equal(got, ['timeout', 'B']);
});

test('unsubscribing cancels: the request leaves the pending set', () => {
  const ts = scheduler();
  ts.run(({ hot, expectObservable }) => {
    const replies$ = hot('-----a', { a: reply(0, 'A') });
    const { c } = setup(replies$, ts);
    expectObservable(c.request(R), '^--!').toBe('---');
    ts.flush();
    assert.is(c.stats.pending, 0);
    assert.is(c.stats.unmatchedReplies, 1);
  });
});

test('an error reply fails that request with RemoteError carrying errno and command', () => {
  const ts = scheduler();
  ts.run(({ hot, expectObservable }) => {
    const replies$ = hot('-e', { e: replyFrame(0, R, undefined, 22) });
    const { c } = setup(replies$, ts);
    expectObservable(c.request(R)).toBe('-#', undefined, new RemoteError('REGION_READ', 22));
  });
});

test('a reply with the right id but another command fails that request as malformed', () => {
  const ts = scheduler();
  ts.run(({ hot, expectObservable }) => {
    const replies$ = hot('-x', { x: replyFrame(0, Command.REGION_WRITE) });
    const { c } = setup(replies$, ts);
    expectObservable(c.request(R)).toBe('-#', undefined, new MalformedMessageError('REGION_READ', 'command', 'reply carries command 10'));
  });
});

test('the end of the reply stream fails every pending request with the same cause', () => {
  const ts = scheduler();
  const cause = new DisconnectedError('connection closed by peer');
  ts.run(({ hot, expectObservable }) => {
    const replies$ = hot<Frame>('--#', undefined, cause);
    const { c } = setup(replies$, ts);
    expectObservable(c.request(R)).toBe('--#', undefined, cause);
    expectObservable(c.request(R)).toBe('--#', undefined, cause);
  });
  const errors: unknown[] = [];
  ts.run(({ hot }) => {
    const { c } = setup(hot<Frame>('-#', undefined, cause), ts);
    c.request(R).subscribe({ error: (e) => errors.push(e) });
    c.request(R).subscribe({ error: (e) => errors.push(e) });
  });
  assert.is(errors.length, 2);
  assert.ok(errors.every((e) => e === cause));
});

test('no-reply requests complete at once and hold no id', () => {
  const ts = scheduler();
  ts.run(({ hot, expectObservable }) => {
    const { c, sent } = setup(hot<Frame>('-'), ts);
    expectObservable(c.request(Command.REGION_WRITE, Buffer.alloc(4), { noReply: true })).toBe('|');
    ts.flush();
    assert.is(sent[0]!.flags & 0x10, 0x10);
    assert.is(c.stats.pending, 0);
  });
});

test('ids wrap at 16 bits and skip ids still pending', () => {
  const ts = scheduler();
  ts.run(({ hot }) => {
    const { c, sent } = setup(hot<Frame>('-'), ts);
    const first = c.request(R).subscribe();
    for (let i = 1; i < 0x10000; i++) c.request(R, undefined, { noReply: true }).subscribe();
    c.request(R).subscribe();
    assert.is(sent[0xffff]!.id, 0xffff);
    assert.is(sent[0x10000]!.id, 1);
    first.unsubscribe();
  });
});

// call(): the same correlation as a promise.
const direct = (timeoutMs = 0, failSend?: Error) => {
  const sent: OutgoingMessage[] = [];
  const closed: number[] = [];
  const vts = new VirtualTimeScheduler();
  const c = createCorrelator(
    (m) => {
      if (failSend) throw failSend;
      sent.push(m);
    },
    { timeoutMs, scheduler: vts, closeFd: (fd) => closed.push(fd) },
  );
  return { c, sent, closed, vts };
};
/** A request issued with a promise as its waiter: how a caller awaits one reply on the primitive. */
const call = (c: DirectCorrelator, command: number, payload?: Buffer, options?: CallOptions): Promise<Frame> =>
  new Promise<Frame>((settle, fail) => void c.issue(command, payload, { settle, fail }, options));
const settle = <T>(p: Promise<T>): Promise<{ value?: T; error?: unknown }> =>
  p.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );

test('an issued request resolves with its own reply, out of order with other calls and requests', async () => {
  const { c, sent } = direct();
  const first = call(c, R, Buffer.from('one'));
  const tags: string[] = [];
  c.request(R).subscribe((f) => tags.push(f.payload.toString()));
  const third = call(c, R);
  assert.equal(sent.map((m) => [m.id, m.command, m.flags]), [[0, R, 0], [1, R, 0], [2, R, 0]]);
  assert.equal(sent[0]!.payload, Buffer.from('one'));
  c.deliver(reply(2, 'C'));
  c.deliver(reply(0, 'A'));
  c.deliver(reply(1, 'B'));
  assert.is((await first).payload.toString(), 'A');
  assert.is((await third).payload.toString(), 'C');
  assert.equal(tags, ['B']);
  assert.is(c.stats.pending, 0);
});

test('an issued request rejects with RemoteError on an error reply and as malformed on another command, closing the fds', async () => {
  const { c, closed } = direct();
  const remote = settle(call(c, R));
  const wrong = settle(call(c, R));
  c.deliver(replyFrame(0, R, Buffer.alloc(0), 22, [5]));
  c.deliver(replyFrame(1, Command.REGION_WRITE, Buffer.alloc(0), undefined, [6]));
  const [a, b] = [await remote, await wrong];
  assert.instance(a.error, RemoteError);
  assert.is((a.error as RemoteError).errno, 22);
  assert.instance(b.error, MalformedMessageError);
  assert.equal(closed, [5, 6]);
});

test('an issued request times out through the scheduler; the late reply is dropped and its id stays out of use', async () => {
  const { c, sent, vts } = direct(10);
  const late = settle(call(c, R));
  vts.flush();
  const { error } = await late;
  assert.instance(error, ReplyTimeoutError);
  assert.match((error as Error).message, /REGION_READ/);
  const next = call(c, R, undefined, { timeoutMs: 0 });
  assert.equal(sent.map((m) => m.id), [0, 1]);
  c.deliver(reply(0, 'late'));
  c.deliver(reply(1, 'B'));
  assert.is((await next).payload.toString(), 'B');
  assert.is(c.stats.unmatchedReplies, 1);
});

test('an issued request answered in time cancels its timer', async () => {
  const { c, vts } = direct(10);
  const p = call(c, R);
  assert.is(vts.actions.length, 1);
  c.deliver(reply(0, 'A'));
  assert.is((await p).payload.toString(), 'A');
  assert.ok(vts.actions.every((a) => a.closed));
  vts.flush();
  assert.is(c.stats.pending, 0);
});

test('failAll rejects pending requests and every later one with the same cause', async () => {
  const { c, sent } = direct();
  const pending = settle(call(c, R));
  const cause = new DisconnectedError('gone');
  c.failAll(cause);
  const later = settle(call(c, R));
  assert.is((await pending).error, cause);
  assert.is((await later).error, cause);
  assert.is(sent.length, 1);
});

test('an issued request whose send throws rejects with that error and frees its id', async () => {
  const boom = new Error('closed');
  const { c } = direct(0, boom);
  assert.is((await settle(call(c, R))).error, boom);
  assert.is(c.stats.pending, 0);
});

test('post sends with No_reply at once, holds no id, and throws once the correlator has failed', () => {
  const { c, sent } = direct();
  c.post(R, Buffer.from('w'), [3]);
  assert.equal(sent.map((m) => [m.id, m.command, m.flags, m.fds]), [[0, R, 0x10, [3]]]);
  assert.is(c.stats.pending, 0);
  const cause = new DisconnectedError('gone');
  c.failAll(cause);
  assert.throws(() => c.post(R), (e: unknown) => e === cause);
  assert.is(sent.length, 1);
});

test('issue hands the outcome to its waiter, and unsubscribing cancels it', () => {
  const { c, vts, sent } = direct(10);
  const got: string[] = [];
  const waiter = { settle: (f: Frame) => got.push(`reply ${f.payload.toString()}`), fail: (e: unknown) => got.push(`fail ${(e as Error).name}`) };
  c.issue(R, undefined, waiter);
  const cancelled = c.issue(R, undefined, waiter);
  c.issue(R, undefined, waiter, { timeoutMs: 5 });
  cancelled.unsubscribe();
  assert.is(c.stats.pending, 2);
  c.deliver(reply(0, 'A'));
  c.deliver(reply(1, 'late'));
  vts.flush();
  assert.equal(got, ['reply A', 'fail ReplyTimeoutError']);
  assert.is(c.stats.unmatchedReplies, 1);
  assert.is(c.stats.pending, 0);
  c.failAll(new DisconnectedError('gone'));
  c.issue(R, undefined, waiter).unsubscribe();
  assert.equal(got.slice(2), ['fail DisconnectedError']);
  assert.is(sent.length, 3);
});

test.run();
