import { TestScheduler } from 'rxjs/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { deadlineScheduler } from '../../src/wire/deadlines.js';

const virtual = () => new TestScheduler((actual, expected) => assert.equal(actual, expected));

/** Runs `body` in virtual time and returns the times (ms) at which each named work ran. */
const ranAt = (body: (ts: TestScheduler, log: (name: string) => () => void) => void): [string, number][] => {
  const ts = virtual();
  const ran: [string, number][] = [];
  ts.run(() => {
    body(ts, (name) => () => void ran.push([name, ts.now()]));
    ts.flush();
  });
  return ran;
};

test('work runs at its own due time, whatever the order of delays', () => {
  const ran = ranAt((ts, log) => {
    const s = deadlineScheduler(ts);
    s.schedule(log('a'), 50);
    s.schedule(log('b'), 10);
    ts.schedule(() => void s.schedule(log('c'), 50), 5);
    s.schedule(log('d'), 50);
  });
  assert.equal(ran, [['b', 10], ['a', 50], ['d', 50], ['c', 55]]);
});

test('cancelled work never runs, and the rest still runs on time', () => {
  const ran = ranAt((ts, log) => {
    const s = deadlineScheduler(ts);
    const first = s.schedule(log('first'), 100);
    s.schedule(log('second'), 100);
    const third = s.schedule(log('third'), 100);
    ts.schedule(() => (first.unsubscribe(), third.unsubscribe()), 20);
  });
  assert.equal(ran, [['second', 100]]);
});

test('thousands of cancelled deadlines leave one timer and no work', () => {
  const ts = virtual();
  let armed = 0;
  const counting = { now: () => ts.now(), schedule: ((...args: Parameters<TestScheduler['schedule']>) => (armed++, ts.schedule(...args))) as TestScheduler['schedule'] };
  let ran = 0;
  ts.run(() => {
    const s = deadlineScheduler(counting);
    for (let i = 0; i < 5000; i++) s.schedule(() => void ran++, 5000).unsubscribe();
    ts.flush();
  });
  assert.is(ran, 0);
  assert.is(armed, 1, 'one underlying timer for all of them');
});

test('work cancelled by earlier work of the same instant does not run', () => {
  const ran = ranAt((ts, log) => {
    const s = deadlineScheduler(ts);
    let later: { unsubscribe(): void } | undefined;
    s.schedule(() => {
      log('canceller')();
      later?.unsubscribe();
    }, 30);
    later = s.schedule(log('cancelled'), 30);
  });
  assert.equal(ran, [['canceller', 30]]);
});

test('zero delays and a disposed scheduler go straight to the underlying scheduler; dispose drops the armed timer', () => {
  const ran = ranAt((ts, log) => {
    const s = deadlineScheduler(ts);
    s.schedule(log('now'), 0);
    s.schedule(log('dropped'), 40);
    s.dispose();
    s.schedule(log('after dispose'), 60);
  });
  assert.equal(ran, [['now', 0], ['after dispose', 60]]);
});

test.run();
