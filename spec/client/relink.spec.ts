import { Subject, firstValueFrom } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { relink } from '../../src/client/relink.js';
import { Command } from '../../src/protocol/constants.js';
import { DisconnectedError } from '../../src/protocol/errors.js';
import type { Frame } from '../../src/protocol/frame.js';
import { endpoint } from '../../src/wire/endpoint.js';
import { mockConnection, replyFrame } from '../../src/wire/mock.js';

const fresh = () => {
  const replies = new Subject<Frame>();
  const conn = mockConnection(replies);
  const sent: number[] = [];
  conn.sent$.subscribe((m) => sent.push(m.command));
  const ep = endpoint(conn, { timeoutMs: 0, closeFd: () => undefined });
  return { ep, replies, sent, conn };
};

test('requests go to the connection of the moment; held while there is none, issued in order on the next, cancelled ones not', async () => {
  const a = fresh();
  const r = relink(a.ep);
  const first = firstValueFrom(r.request(Command.DEVICE_GET_INFO));
  a.replies.next(replyFrame(0, Command.DEVICE_GET_INFO));
  await first;
  r.detach();
  const held = firstValueFrom(r.request(Command.DEVICE_RESET));
  const cancelled = r.request(Command.REGION_READ).subscribe();
  r.post(Command.REGION_WRITE, Buffer.alloc(17));
  cancelled.unsubscribe();
  assert.is(r.stats.pending, 3, 'held while detached');
  const b = fresh();
  r.attach(b.ep);
  assert.equal(b.sent, [Command.DEVICE_RESET, Command.REGION_WRITE]);
  b.replies.next(replyFrame(0, Command.DEVICE_RESET));
  assert.is((await held).header.command, Command.DEVICE_RESET);
  assert.equal(a.sent, [Command.DEVICE_GET_INFO], 'nothing more went to the old connection');
});

test('giving up fails what is held and everything later with the cause; closed$ emits it once', async () => {
  const a = fresh();
  const r = relink(a.ep);
  r.detach();
  const held = firstValueFrom(r.request(Command.DEVICE_RESET)).catch((e: unknown) => e);
  const cause = new DisconnectedError('gone for good');
  r.giveUp(cause);
  assert.is(await held, cause);
  assert.is(await firstValueFrom(r.request(Command.DEVICE_RESET)).catch((e: unknown) => e), cause);
  assert.throws(() => r.post(Command.REGION_WRITE), (e: unknown) => e === cause);
  assert.is(await firstValueFrom(r.closed$), cause);
});

test('with retryInFlight, a request whose connection ended under it goes out again on the next one', async () => {
  const a = fresh();
  const r = relink(a.ep, true);
  const pending = firstValueFrom(r.request(Command.DEVICE_RESET));
  assert.equal(a.sent, [Command.DEVICE_RESET]);
  a.ep.close(); // the connection ends: its pending request fails with DisconnectedError, and is held
  r.detach();
  const b = fresh();
  r.attach(b.ep);
  assert.equal(b.sent, [Command.DEVICE_RESET], 'sent again');
  b.replies.next(replyFrame(0, Command.DEVICE_RESET));
  assert.is((await pending).header.command, Command.DEVICE_RESET);
});

test('without it, the request fails with DisconnectedError', async () => {
  const a = fresh();
  const r = relink(a.ep);
  const pending = firstValueFrom(r.request(Command.DEVICE_RESET)).catch((e: unknown) => e);
  a.ep.close();
  assert.instance(await pending, DisconnectedError);
});

test.run();
