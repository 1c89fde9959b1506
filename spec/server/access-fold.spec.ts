import { Subject, filter, map, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { accessFold, type DeviceContext, type RegionAccess, type ResetReason } from '../../src/server/index.js';

const read = (offset: number): RegionAccess => ({ kind: 'read', region: 0, offset, count: 1 });
const write = (offset: number, v: number): RegionAccess => ({ kind: 'write', region: 0, offset, data: Buffer.of(v) });

/** A one-byte counter: writes add, reads answer it; ticks from outside add 10; a reset zeroes it; each state is published. */
const counter = (ticks: Observable<number>, seen: number[]) =>
  accessFold<number, number>({
    seed: () => 0,
    access: (n, a) => (a.kind === 'write' ? { state: n + a.data[0]!, result: { access: a } } : { state: n, result: { access: a, data: Buffer.of(n) } }),
    reset: () => 0,
    event: (n, t) => n + t,
    events: () => ticks,
    effects: (n) => void seen.push(n),
  });

test('accesses, the device own events and resets step one state, in order; effects run once per step (marble)', () => {
  const scheduler = new TestScheduler((a, e) => assert.equal(a, e));
  scheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
    const access$ = hot<RegionAccess>('-w-r---r-r', { w: write(0, 2), r: read(0) });
    const ticks$ = hot<number>('    ----t', { t: 10 });
    const reset$ = hot<ResetReason>('------x--', { x: 'reset' });
    const seen: number[] = [];
    const ctx = { reset$ } as unknown as DeviceContext;
    const results = counter(ticks$, seen)(access$, ctx).pipe(map((r) => (r.data ? r.data[0] : 'ok')));
    expectObservable(results).toBe('-a-b---c-d', { a: 'ok', b: 2, c: 0, d: 0 });
    expectSubscriptions(access$.subscriptions).toBe('^');
    expectSubscriptions(ticks$.subscriptions).toBe('^');
    scheduler.flush();
    assert.equal(seen, [2, 2, 12, 0, 0, 0]);
  });
});

test('a disconnect is not a reset; events fed back from the states reach the fold', () => {
  const reset$ = new Subject<ResetReason>();
  const ctx = { reset$ } as unknown as DeviceContext;
  const seen: number[] = [];
  const access$ = new Subject<RegionAccess>();
  // Every state of 5 or more feeds back -5 (work the state started, ending in a completion).
  const op = accessFold<number, number>({
    seed: () => 0,
    access: (n, a) => ({ state: a.kind === 'write' ? n + a.data[0]! : n, result: { access: a } }),
    reset: () => 0,
    event: (n, d) => n + d,
    events: (state$) => state$.pipe(filter((n) => n >= 5), map(() => -5)),
    effects: (n) => void seen.push(n),
  });
  const sub = op(access$, ctx).subscribe();
  access$.next(write(0, 7));
  reset$.next('disconnect');
  assert.equal(seen, [7, 2], 'the write, then the -5 it caused; no reset');
  sub.unsubscribe();
});

test.run();
