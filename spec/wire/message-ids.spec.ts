import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { messageIds } from '../../src/wire/message-ids.js';
import { LimitError } from '../../src/protocol/errors.js';

test('ids come in order and skip the ones waiting or quarantined', () => {
  const ids = messageIds<string>(4);
  ids.wait(ids.next(), 'a'); // 0
  const one = ids.next();
  ids.wait(one, 'b'); // 1
  ids.retire(one); // quarantined
  ids.free(0);
  assert.is(ids.get(0), undefined);
  assert.is(ids.waiting, 0);
  for (let i = 2; i < 0x10000; i++) assert.is(ids.next(), i);
  assert.is(ids.next(), 0, 'a freed id is reused at once');
  assert.is(ids.next(), 2, 'a retired id is skipped while quarantined');
});

test('a reply for a quarantined id frees it; the oldest leaves quarantine when it is full', () => {
  const ids = messageIds<string>(2);
  for (const id of [0, 1, 2]) {
    ids.wait(ids.next(), `r${id}`);
    ids.retire(id);
  }
  // 0 left quarantine when 2 was retired (the limit is 2); 1 and 2 are still out.
  ids.unmatched(1);
  for (let i = 3; i < 0x10000; i++) ids.next();
  assert.equal([ids.next(), ids.next(), ids.next()], [0, 1, 3]);
});

test('drain ends every wait; with every id waiting, next() throws LimitError', () => {
  const ids = messageIds<number>();
  for (let i = 0; i < 0x10000; i++) ids.wait(ids.next(), i);
  assert.throws(() => ids.next(), (e: unknown) => e instanceof LimitError);
  assert.is(ids.drain().length, 0x10000);
  assert.is(ids.waiting, 0);
  assert.is(ids.next(), 0);
});

test.run();
