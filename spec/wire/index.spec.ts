// The wire kernel as the package exports it: a user marble-tests a request and its reply against the mock connection.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestScheduler } from 'rxjs/testing';
import { wire, protocol } from '../../src/index.js';

const { Command } = protocol;

test('an endpoint over the exported mock connection: the request goes out, the marble reply settles it', () => {
  const scheduler = new TestScheduler((actual, expected) => assert.equal(actual, expected));
  scheduler.run(({ cold, expectObservable }) => {
    // The reply to id 0 arrives at frame 3; the request is sent when the endpoint is subscribed to.
    const frames$ = cold<protocol.Frame>('---r', { r: wire.replyFrame(0, Command.DEVICE_RESET) });
    const conn = wire.mockConnection(frames$);
    const ep = wire.endpoint(conn, { timeoutMs: 0, closeFd: () => undefined, scheduler });
    expectObservable(ep.request(Command.DEVICE_RESET), '^').toBe('---(r|)', { r: wire.replyFrame(0, Command.DEVICE_RESET) });
    scheduler.flush();
    assert.equal(conn.sent.map((m) => [m.id, m.command]), [[0, Command.DEVICE_RESET]]);
  });
});

test('the exported names: the connection, the endpoint, the correlator, the mock and the trace', () => {
  for (const name of ['connection', 'endpoint', 'correlator', 'createCorrelator', 'decodeFrames', 'mockConnection', 'formatTrace', 'deadlineScheduler']) {
    assert.type((wire as Record<string, unknown>)[name], 'function', name);
  }
});

test.run();
