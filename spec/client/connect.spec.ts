import { firstValueFrom, lastValueFrom } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { realize$ } from '../../src/client/index.js';
import { native } from '../../src/native/index.js';
import type { Channel } from '../../src/native/types.js';
import * as p from '../../src/protocol/index.js';
import { serveChannel, socketPeer, tempPath } from './fixtures/peers.js';
import { fdsOpenedSince, openFds } from '../fixtures/fds.js';

const failure = (o: Parameters<typeof realize$>[0]) => firstValueFrom(realize$(o)).catch((e: unknown) => e);

/** Listens on a temp path and hands each accepted channel to `onConnection`. */
const rawPeer = (onConnection: (c: Channel) => void) => {
  const t = tempPath();
  const listener = native.listen(t.path, 0o600);
  const channels: Channel[] = [];
  listener.start(
    (c) => {
      channels.push(c);
      onConnection(c);
    },
    () => undefined,
  );
  return {
    path: t.path,
    close: () => {
      listener.close();
      channels.forEach((c) => c.close());
      t.done();
    },
  };
};

test('a missing socket path gives ConnectError ENOENT', async () => {
  const t = tempPath();
  const err = await failure({ socketPath: t.path });
  assert.instance(err, p.ConnectError);
  assert.is((err as p.ConnectError).errno, 'ENOENT');
  assert.is((err as p.ConnectError).path, t.path);
  t.done();
});

test('a socket file nobody listens on gives ConnectError ECONNREFUSED', async () => {
  const t = tempPath();
  native.listen(t.path, 0o600).close();
  const err = await failure({ socketPath: t.path });
  assert.instance(err, p.ConnectError);
  assert.is((err as p.ConnectError).errno, 'ECONNREFUSED');
  t.done();
});

test('a peer that closes at once gives ConnectError: not a vfio-user server', async () => {
  const peer = rawPeer((c) => c.close());
  const err = await failure({ socketPath: peer.path });
  assert.instance(err, p.ConnectError);
  assert.match((err as Error).message, /not a vfio-user server/);
  assert.instance((err as Error).cause, p.DisconnectedError);
  peer.close();
});

test('a peer that sends garbage gives ConnectError caused by the protocol error', async () => {
  const peer = rawPeer((c) => {
    c.start({ data: () => undefined, end: () => undefined, error: () => undefined });
    c.send([Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n')]);
  });
  const err = await failure({ socketPath: peer.path });
  assert.instance(err, p.ConnectError);
  const cause = (err as Error).cause as p.DisconnectedError;
  assert.instance(cause, p.DisconnectedError);
  assert.instance(cause.cause, p.ProtocolError);
  peer.close();
});

test('a peer that never answers gives ConnectError ETIMEDOUT after the request timeout', async () => {
  const peer = rawPeer((c) => c.start({ data: () => undefined, end: () => undefined, error: () => undefined }));
  const err = await failure({ socketPath: peer.path, timeoutMs: 50 });
  assert.instance(err, p.ConnectError);
  assert.is((err as p.ConnectError).errno, 'ETIMEDOUT');
  assert.instance((err as Error).cause, p.ReplyTimeoutError);
  peer.close();
});

test('socketPath and fd together are refused', async () => {
  const err = await failure({ socketPath: '/nonexistent', fd: 3 });
  assert.instance(err, TypeError);
});

test('realizes over a real socket, and close leaves no fd behind', async () => {
  const before = openFds();
  const peer = socketPeer();
  const dev = await firstValueFrom(realize$({ socketPath: peer.path }));
  assert.is(dev.config.vendorId, 0x4e58);
  await lastValueFrom(dev.close(), { defaultValue: undefined });
  peer.close();
  assert.equal(fdsOpenedSince(before), []);
});

test('realizes from an already-connected fd, which it then owns', async () => {
  const [mine, theirs] = native.socketpair();
  const server = serveChannel(native.channelFromFd(theirs));
  const dev = await firstValueFrom(realize$({ fd: mine }));
  assert.is(dev.info.num_regions, 9);
  await lastValueFrom(dev.close(), { defaultValue: undefined });
  assert.throws(() => native.fileSize(mine), /EBADF/);
  server.close();
});

test('onTrace sees every message from VERSION on, in both directions', async () => {
  const peer = socketPeer();
  const seen: string[] = [];
  const dev = await firstValueFrom(realize$({ socketPath: peer.path, onTrace: (e) => seen.push(`${e.direction} ${e.commandName}`) }));
  assert.equal(seen.slice(0, 4), ['out VERSION', 'in VERSION', 'out DEVICE_GET_INFO', 'in DEVICE_GET_INFO']);
  assert.is(seen.length, 2 * (2 + 9 + 5 + 1));
  await lastValueFrom(dev.close(), { defaultValue: undefined });
  peer.close();
});

test.run();
