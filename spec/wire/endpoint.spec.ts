import { firstValueFrom, lastValueFrom, toArray, take, merge, forkJoin } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { endpoint } from '../../src/wire/endpoint.js';
import { native } from '../../src/native/index.js';
import { Command } from '../../src/protocol/constants.js';
import { Errno } from '../../src/protocol/errno.js';
import { DisconnectedError, RemoteError, ReplyTimeoutError } from '../../src/protocol/errors.js';
import { connection } from '../../src/wire/connection.js';
import { commandFrame, mockConnection } from '../../src/wire/mock.js';
import { Subject } from 'rxjs';
import type { Frame } from '../../src/protocol/frame.js';
import { fdsOpenedSince, openFds } from '../fixtures/fds.js';

const closeFd = (fd: number) => native.close(fd);
const pair = (timeoutMs = 2000) => {
  const [a, b] = native.socketpair();
  return [
    endpoint(connection(native.channelFromFd(a), { closeFd }), { timeoutMs, closeFd }),
    endpoint(connection(native.channelFromFd(b), { closeFd }), { timeoutMs, closeFd }),
  ] as const;
};

test('requests in both directions at once are each answered with their own reply', async () => {
  const [client, server] = pair();
  server.commands$.subscribe((f) => server.reply(f, Buffer.concat([Buffer.from('s:'), f.payload])));
  client.commands$.subscribe((f) => client.reply(f, Buffer.concat([Buffer.from('c:'), f.payload])));
  const fromClient = forkJoin([...Array(50).keys()].map((i) => client.request(Command.REGION_READ, Buffer.from(`q${i}`))));
  const fromServer = forkJoin([...Array(50).keys()].map((i) => server.request(Command.DMA_READ, Buffer.from(`d${i}`))));
  const [a, b] = await Promise.all([firstValueFrom(fromClient), firstValueFrom(fromServer)]);
  assert.equal(a.map((f) => f.payload.toString()), [...Array(50).keys()].map((i) => `s:q${i}`));
  assert.equal(b.map((f) => f.payload.toString()), [...Array(50).keys()].map((i) => `c:d${i}`));
  client.close();
  server.close();
});

test('an error reply becomes RemoteError naming the errno and the command', async () => {
  const [client, server] = pair();
  server.commands$.subscribe((f) => server.replyError(f, Errno.EFAULT));
  const err = await firstValueFrom(client.request(Command.DMA_MAP, Buffer.alloc(32))).catch((e: unknown) => e);
  assert.instance(err, RemoteError);
  assert.is((err as RemoteError).errnoName, 'EFAULT');
  assert.is((err as RemoteError).command, 'DMA_MAP');
  client.close();
  server.close();
});

test('commands nobody listens to get ENOSYS and their fds are closed', async () => {
  const [client, server] = pair();
  const fd = native.eventfd();
  const before = openFds();
  const err = await firstValueFrom(server.request(Command.DMA_READ, Buffer.alloc(16), { fds: [fd] })).catch((e: unknown) => e);
  assert.instance(err, RemoteError);
  assert.is((err as RemoteError).errno, Errno.ENOSYS);
  assert.equal(fdsOpenedSince(before), []);
  native.close(fd);
  client.close();
  server.close();
});

test('a disconnect fails every pending request and closed$ with the same cause', async () => {
  const [client, server] = pair();
  server.commands$.subscribe(() => undefined); // never answers
  const pending = [1, 2, 3].map(() => firstValueFrom(client.request(Command.REGION_READ, Buffer.alloc(16))).catch((e: unknown) => e));
  const closed = firstValueFrom(client.closed$);
  await new Promise((r) => setTimeout(r, 20));
  server.close();
  const errors = await Promise.all(pending);
  const cause = await closed;
  assert.instance(cause, DisconnectedError);
  assert.ok(errors.every((e) => e === cause));
  const after = await firstValueFrom(client.request(Command.REGION_READ)).catch((e: unknown) => e);
  assert.is(after, cause);
  client.close();
});

test('close() fails pending requests and is idempotent', async () => {
  const [client, server] = pair();
  server.commands$.subscribe(() => undefined);
  const pending = firstValueFrom(client.request(Command.REGION_READ, Buffer.alloc(16))).catch((e: unknown) => e);
  client.close();
  client.close();
  assert.instance(await pending, DisconnectedError);
  server.close();
});

test('a request times out with ReplyTimeoutError and the connection stays usable', async () => {
  const [client, server] = pair(50);
  let n = 0;
  server.commands$.subscribe((f) => {
    if (n++ > 0) server.reply(f);
  });
  const err = await firstValueFrom(client.request(Command.DEVICE_RESET)).catch((e: unknown) => e);
  assert.instance(err, ReplyTimeoutError);
  const ok = await firstValueFrom(client.request(Command.DEVICE_RESET));
  assert.is(ok.header.command, Command.DEVICE_RESET);
  client.close();
  server.close();
});

test('replies to No_reply commands are never sent, even errors', () => {
  const frames = new Subject<Frame>();
  const conn = mockConnection(frames);
  const ep = endpoint(conn, { timeoutMs: 0, closeFd: () => undefined });
  ep.commands$.subscribe((f) => ep.replyError(f, Errno.EINVAL));
  frames.next(commandFrame(1, Command.REGION_WRITE, Buffer.alloc(20), [], true));
  frames.next(commandFrame(2, Command.REGION_WRITE, Buffer.alloc(20), [], false));
  assert.equal(conn.sent.map((m) => m.id), [2]);
  ep.close();
});

test('commands keep their arrival order', async () => {
  const [client, server] = pair();
  const seen = lastValueFrom(server.commands$.pipe(take(100), toArray()));
  merge(...[...Array(100).keys()].map((i) => client.request(Command.REGION_WRITE, Buffer.of(i), { noReply: true }))).subscribe();
  const frames = await seen;
  assert.equal(frames.map((f) => f.payload[0]), [...Array(100).keys()]);
  client.close();
  server.close();
});

test.run();
