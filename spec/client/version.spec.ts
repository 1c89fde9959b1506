import { firstValueFrom, lastValueFrom } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { realizeOn$ } from '../../src/client/index.js';
import { native } from '../../src/native/index.js';
import * as p from '../../src/protocol/index.js';
import type { Frame } from '../../src/protocol/frame.js';
import type { Answer } from './fixtures/fake-device.js';
import { mockPeer } from './fixtures/peers.js';

const { Command } = p;

const onVersion = (answer: (f: Frame) => Answer) => (f: Frame): Answer => (f.header.command === Command.VERSION ? answer(f) : 'default');
const versionBytes = (major: number, minor: number, json?: string) => {
  const text = json === undefined ? Buffer.alloc(0) : Buffer.from(json, 'utf8');
  const b = Buffer.alloc(4 + text.length);
  b.writeUInt16LE(major, 0);
  b.writeUInt16LE(minor, 2);
  text.copy(b, 4);
  return b;
};
const failure = (answer: (f: Frame) => Answer) => firstValueFrom(realizeOn$(mockPeer({ override: onVersion(answer) }).conn)).catch((e: unknown) => e);

test('a reply with another major fails with VersionError', async () => {
  const err = await failure(() => ({ payload: versionBytes(1, 0) }));
  assert.instance(err, p.VersionError);
  assert.match((err as Error).message, /major 1/);
});

test('a reply with a minor above ours fails with VersionError', async () => {
  const err = await failure(() => ({ payload: versionBytes(0, 3) }));
  assert.instance(err, p.VersionError);
  assert.match((err as Error).message, /minor 3/);
});

test('the same minor as ours, and a lower one, are accepted', async () => {
  for (const minor of [2, 0]) {
    const peer = mockPeer({ override: onVersion(() => ({ payload: versionBytes(0, minor) })) });
    const dev = await firstValueFrom(realizeOn$(peer.conn));
    assert.is(dev.version.minor, minor);
    assert.is(dev.caps.max_msg_fds, 1, 'a server without JSON gets the spec defaults');
    await lastValueFrom(dev.close(), { defaultValue: undefined });
  }
});

test('JSON without its terminating NUL fails with VersionError caused by the malformed reply', async () => {
  const err = await failure(() => ({ payload: versionBytes(0, 0, '{"capabilities":{}}') }));
  assert.instance(err, p.VersionError);
  assert.instance((err as Error).cause, p.MalformedMessageError);
  assert.match((err as Error).message, /NUL/);
});

test('JSON with a wrongly typed capability fails with VersionError', async () => {
  const err = await failure(() => ({ payload: versionBytes(0, 0, '{"capabilities":{"max_msg_fds":"many"}}\0') }));
  assert.instance(err, p.VersionError);
});

test('an error reply to VERSION fails with VersionError naming the errno', async () => {
  const err = await failure(() => ({ errno: p.Errno.EINVAL }));
  assert.instance(err, p.VersionError);
  assert.instance((err as Error).cause, p.RemoteError);
  assert.match((err as Error).message, /EINVAL/);
});

test('pgsizes with a bit below 4 KiB is refused', async () => {
  const json = JSON.stringify({ capabilities: { pgsizes: 0x1800 } }) + '\0';
  const err = await failure(() => ({ payload: versionBytes(0, 0, json) }));
  assert.instance(err, p.VersionError);
  assert.match((err as Error).message, /pgsizes/);
});

test('twin_socket supported without a matching fd is inconsistent: VersionError', async () => {
  const json = JSON.stringify({ capabilities: { twin_socket: { supported: true, fd_index: 0 } } }) + '\0';
  const err = await failure(() => ({ payload: versionBytes(0, 2, json) }));
  assert.instance(err, p.VersionError);
  assert.match((err as Error).message, /fd_index 0/);
});

test('twin_socket enabled although we did not offer it: VersionError, and its fd is closed', async () => {
  const [a, b] = native.socketpair();
  const json = JSON.stringify({ capabilities: { twin_socket: { supported: true, fd_index: 0 } } }) + '\0';
  const peer = mockPeer({ override: onVersion(() => ({ payload: versionBytes(0, 2, json), fds: [a] })) });
  const err = await firstValueFrom(realizeOn$(peer.conn, { twinSocket: false })).catch((e: unknown) => e);
  assert.instance(err, p.VersionError);
  assert.throws(() => native.fileSize(a), /EBADF/);
  native.close(b);
});

test('fds that come with a VERSION reply without twin socket are closed', async () => {
  const fd = native.eventfd();
  const peer = mockPeer({ override: onVersion(() => ({ payload: versionBytes(0, 0), fds: [fd] })) });
  const dev = await firstValueFrom(realizeOn$(peer.conn));
  assert.throws(() => native.fileSize(fd), /EBADF/);
  await lastValueFrom(dev.close(), { defaultValue: undefined });
});

test.run();
