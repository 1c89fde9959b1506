// listen$: a listening socket as channels, with the stale-socket rule.
import { existsSync, mkdtempSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { firstValueFrom, lastValueFrom } from 'rxjs';
import { native } from '../../src/native/index.js';
import { SocketInUseError, listen$ } from '../../src/streams/listen.js';

const test = suite<{ dir: string; path: string }>('listen$', { dir: '', path: '' });
test.before.each((ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'vfu-listen$-'));
  ctx.path = join(ctx.dir, 'sock');
});
test.after.each((ctx) => {
  rmSync(ctx.dir, { recursive: true, force: true });
});

const refusal = (path: string) => lastValueFrom(listen$(native, { socketPath: path })).catch((e: unknown) => e);

test('emits each accepted connection; unsubscribing closes the listener and removes the file', async ({ path }) => {
  const accepted = firstValueFrom(listen$(native, { socketPath: path }, 0o600));
  assert.is(statSync(path).mode & 0o777, 0o600);
  const client = native.connect(path);
  const channel = await accepted;
  assert.ok(channel.fd >= 0);
  channel.close();
  client.close();
  assert.not.ok(existsSync(path));
});

test('a stale socket file is replaced', async ({ path }) => {
  native.listen(path, 0o600).close();
  const accepted = firstValueFrom(listen$(native, { socketPath: path }));
  const client = native.connect(path);
  (await accepted).close();
  client.close();
});

test('a socket another listener answers on is refused with SocketInUseError', async ({ path }) => {
  const live = native.listen(path, 0o600);
  const err = await refusal(path);
  assert.instance(err, SocketInUseError);
  assert.is((err as SocketInUseError).path, path);
  live.close();
});

test('a path that is not a socket is refused and left alone', async ({ path }) => {
  writeFileSync(path, 'x');
  assert.instance(await refusal(path), SocketInUseError);
  assert.ok(existsSync(path));
});

test('teardown leaves alone a socket file that someone else put in its place', async ({ path }) => {
  const sub = listen$(native, { socketPath: path }).subscribe();
  unlinkSync(path);
  const other = native.listen(path, 0o600);
  sub.unsubscribe();
  assert.ok(existsSync(path));
  other.close();
});

test.run();
