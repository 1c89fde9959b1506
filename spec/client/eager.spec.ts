import { Subject } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { eagerValuesFrom } from '../../src/client/eager.js';

test('values emitted before the first pull are not lost, and later ones follow', async () => {
  const source = new Subject<number>();
  const values = eagerValuesFrom(source);
  source.next(1);
  source.next(2);
  const got: number[] = [];
  const done = (async () => {
    for await (const v of values) got.push(v);
  })();
  await new Promise((r) => setTimeout(r, 1));
  source.next(3);
  source.complete();
  await done;
  assert.equal(got, [1, 2, 3]);
});

test('an error emitted before the first pull is thrown by the iteration', async () => {
  const source = new Subject<number>();
  const values = eagerValuesFrom(source);
  source.next(1);
  source.error(new Error('gone'));
  const got: number[] = [];
  const err = await (async () => {
    for await (const v of values) got.push(v);
  })().catch((e: Error) => e.message);
  assert.equal(got, [1]);
  assert.is(err, 'gone');
});

test('return() before the first pull lets go of the source', async () => {
  const source = new Subject<number>();
  const values = eagerValuesFrom(source);
  assert.ok(source.observed);
  await values.return!();
  assert.not.ok(source.observed);
});

test.run();
