// The operators as the package exports them, composed as a user watching traffic would.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { operators, protocol, wire } from '../../src/index.js';

const { Command } = protocol;

test('commands() then decodeCommands(): the peer\'s commands, typed, replies left out; subscribed once, for the stream\'s life', () => {
  const scheduler = new TestScheduler((actual, expected) => assert.equal(actual, expected));
  scheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
    const read = wire.commandFrame(1, Command.REGION_READ, protocol.encodeRegionReadRequest({ offset: 0x10, region: 2, count: 4 }));
    const reply = wire.replyFrame(7, Command.DEVICE_RESET);
    const bad = wire.commandFrame(2, Command.REGION_READ, Buffer.alloc(3));
    const frames$ = hot<protocol.Frame>('-r-x-b-|', { r: read, x: reply, b: bad });
    const decoded$ = frames$.pipe(
      operators.commands(),
      operators.decodeCommands(),
      map((m) => (m.kind === 'command' ? `${m.name}@${(m.body as protocol.RegionAccess).offset}` : m.kind)),
    );
    expectObservable(decoded$).toBe('-r---b-|', { r: 'REGION_READ@16', b: 'malformed' });
    expectSubscriptions(frames$.subscriptions).toBe('^------!');
  });
});

test('commands() and ofCommand(): the peer\'s commands of one kind; unsubscribing lets go of the frames', () => {
  const scheduler = new TestScheduler((actual, expected) => assert.equal(actual, expected));
  scheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
    const reset = wire.commandFrame(1, Command.DEVICE_RESET);
    const read = wire.commandFrame(2, Command.REGION_READ, Buffer.alloc(16));
    const reply = wire.replyFrame(1, Command.DEVICE_RESET);
    const frames$ = hot<protocol.Frame>('-a-b-c--a|', { a: reset, b: read, c: reply });
    const resets$ = frames$.pipe(operators.commands(), operators.ofCommand(Command.DEVICE_RESET), map((f) => f.header.id));
    expectObservable(resets$, '^------!').toBe('-a-----', { a: 1 });
    expectSubscriptions(frames$.subscriptions).toBe('^------!');
  });
});

test('the exported operators', () => {
  for (const name of ['replies', 'commands', 'ofCommand', 'decodeCommands', 'chunkTransfers', 'dmaTransactions', 'foldInOrder', 'writeMulti']) {
    assert.type((operators as Record<string, unknown>)[name], 'function', name);
  }
});

test.run();
