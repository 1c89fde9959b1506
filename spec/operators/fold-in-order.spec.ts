import { Subject, of, throwError, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { foldInOrder } from '../../src/operators/fold-in-order.js';

const scheduler = () => new TestScheduler((actual, expected) => assert.equal(actual, expected));

test('synchronous steps fold every event at once and emit each state', () => {
  scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const events = cold('-a-b-c-|', { a: 1, b: 2, c: 3 });
    const states = events.pipe(foldInOrder((s: number, e: number) => s + e, 10));
    expectObservable(states).toBe('-x-y-z-|', { x: 11, y: 13, z: 16 });
    expectSubscriptions(events.subscriptions).toBe('^------!');
  });
});

test('an Observable step runs to completion before the next event, which waits', () => {
  scheduler().run(({ cold, hot, expectObservable }) => {
    const events = hot('-a-b-c----|', { a: 'sync', b: 'slow', c: 'sync' });
    const slow = (s: string): Observable<string> => cold('---x|', { x: `${s}+slow` });
    const states = events.pipe(foldInOrder((s: string, e: string) => (e === 'slow' ? slow(s) : `${s}+${e}`), 'S'));
    expectObservable(states).toBe('-a----bc--|', { a: 'S+sync', b: 'S+sync+slow', c: 'S+sync+slow+sync' });
  });
});

test('every value of an Observable step becomes the state in turn; the last one carries on', () => {
  scheduler().run(({ cold, hot, expectObservable }) => {
    const events = hot('-a--b--|', { a: 'multi', b: 'add' });
    const states = events.pipe(
      foldInOrder((s: number, e: string) => (e === 'multi' ? cold('-x-y|', { x: s + 1, y: s + 2 }) : s + 100), 0),
    );
    expectObservable(states).toBe('--x-yz-|', { x: 1, y: 2, z: 102 });
  });
});

test('does not complete before a running step has finished', () => {
  scheduler().run(({ cold, hot, expectObservable }) => {
    const events = hot('-a|', { a: 1 });
    const states = events.pipe(foldInOrder((s: number, e: number) => cold('---x|', { x: s + e }), 0));
    expectObservable(states).toBe('----x|', { x: 1 });
  });
});

test('a step that throws, or an Observable step that errors, errors the fold', () => {
  scheduler().run(({ cold, expectObservable }) => {
    const boom = new Error('boom');
    const throwing = cold('-a-b', { a: 1, b: 2 }).pipe(
      foldInOrder((s: number, e: number) => {
        if (e === 2) throw boom;
        return s + e;
      }, 0),
    );
    expectObservable(throwing).toBe('-x-#', { x: 1 }, boom);
    const erroring = cold('-a', { a: 1 }).pipe(foldInOrder(() => throwError(() => boom), 0));
    expectObservable(erroring).toBe('-#', undefined, boom);
  });
});

test('events caused by an emitted state wait for the step that emitted it', () => {
  const events = new Subject<string>();
  const seen: string[] = [];
  events.pipe(foldInOrder((s: string[], e: string) => [...s, e], [] as string[])).subscribe((s) => {
    seen.push(s.join(''));
    if (s[s.length - 1] === 'a') events.next('b'); // re-entrant: folded after 'a', before 'c'
  });
  events.next('a');
  events.next('c');
  assert.equal(seen, ['a', 'ab', 'abc']);
});

test('a synchronous Observable step is folded in place, like a plain one', () => {
  const seen: number[] = [];
  of(1, 2, 3)
    .pipe(foldInOrder((s: number, e: number) => of(s + e), 0))
    .subscribe((s) => seen.push(s));
  assert.equal(seen, [1, 3, 6]);
});

test('unsubscribing stops the running step', () => {
  scheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
    const step = cold('----x|', { x: 1 });
    const events = hot('-a----|', { a: 1 });
    expectObservable(events.pipe(foldInOrder(() => step, 0)), '^--!').toBe('---');
    expectSubscriptions(step.subscriptions).toBe('-^-!');
  });
});

test.run();
