// Trace timestamps: one monotonic clock for messages and for what is printed among them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { traceNow, traceOf } from '../../src/wire/trace.js';
import { formatInterrupt } from '../../src/cli/format/events.js';

const header = { id: 1, command: 1, size: 16, flags: 0, error: 0 };

test('message timestamps and traceNow() never go backwards, taken in any order', () => {
  let last = 0;
  for (let i = 0; i < 10_000; i++) {
    const t = i % 2 ? traceOf('in', header, 0).timestamp : traceNow();
    assert.ok(t >= last, `${t} < ${last} at step ${i}`);
    last = t;
  }
});

test('an interrupt line printed after a message line is not stamped earlier than it', () => {
  const message = traceOf('in', header, 0);
  const line = formatInterrupt({ type: 'msix', vector: 0, count: 1n });
  const stamp = (iso: string) => iso.slice(0, 12);
  const messageTime = new Date(message.timestamp).toISOString().slice(11, 23);
  assert.ok(stamp(line) >= messageTime, `${stamp(line)} < ${messageTime}`);
});

test.run();
