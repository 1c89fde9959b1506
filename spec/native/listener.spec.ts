/** listen/connect/accept over a socket path, and their errors. */
import { mkdtempSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { NativeError } from '../../src/protocol/errors.js';
import { native, type Channel, type Listener } from '../../src/native/index.js';
import { encodeMessage } from './fixtures/messages.js';
import { Receiver } from './fixtures/receiver.js';

const ENOENT = 2;
const ECONNREFUSED = 111;
const EADDRINUSE = 98;

const test = suite<{ dir: string }>('listener', { dir: '' });
test.before.each((ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'vfu-listen-'));
});
test.after.each((ctx) => {
  rmSync(ctx.dir, { recursive: true, force: true });
});

const accept = (listener: Listener): Promise<Channel> =>
  new Promise((resolve, reject) => listener.start(resolve, reject));

const isNativeError = (errno: number, syscall: string) => (e: unknown) =>
  e instanceof NativeError && e.errno === errno && e.syscall === syscall;

test('listens with file mode 0600, accepts, and both sides exchange messages', async ({ dir }) => {
  const path = join(dir, 'sock');
  const listener = native.listen(path, 0o600);
  const st = statSync(path);
  assert.ok(st.isSocket());
  assert.is(st.mode & 0o777, 0o600);
  const accepted = accept(listener);
  const client = native.connect(path);
  const server = await accepted;
  const atServer = new Receiver(server);
  const atClient = new Receiver(client);
  client.send([encodeMessage(1, 16)]);
  server.send([encodeMessage(2, 32)]);
  assert.is((await atServer.messages(1))[0]!.index, 1);
  assert.is((await atClient.messages(1))[0]!.index, 2);
  client.close();
  server.close();
  listener.close();
  listener.close();
  assert.is(listener.fd, -1);
  assert.ok(existsSync(path), 'close() does not unlink');
});

test('connecting to a missing path throws NativeError ENOENT', ({ dir }) => {
  assert.throws(() => native.connect(join(dir, 'missing')), isNativeError(ENOENT, 'connect'));
});

test('connecting after the listener closed throws ECONNREFUSED', ({ dir }) => {
  const path = join(dir, 'sock');
  native.listen(path, 0o600).close();
  assert.throws(() => native.connect(path), isNativeError(ECONNREFUSED, 'connect'));
});

test('listening on an existing path throws EADDRINUSE (the caller decides about stale files)', ({ dir }) => {
  const path = join(dir, 'sock');
  const listener = native.listen(path, 0o600);
  assert.throws(() => native.listen(path, 0o600), isNativeError(EADDRINUSE, 'bind'));
  listener.close();
  const file = join(dir, 'file');
  writeFileSync(file, '');
  assert.throws(() => native.listen(file, 0o600), isNativeError(EADDRINUSE, 'bind'));
});

test('listenerFromFd takes over a listening socket', async ({ dir }) => {
  const path = join(dir, 'sock');
  const original = native.listen(path, 0o600);
  const listener = native.listenerFromFd(native.dup(original.fd));
  original.close();
  const accepted = accept(listener);
  const client = native.connect(path);
  const server = await accepted;
  const receiver = new Receiver(server);
  client.send([encodeMessage(3, 16)]);
  assert.is((await receiver.messages(1))[0]!.index, 3);
  client.close();
  server.close();
  listener.close();
});

test('a socket path too long for sun_path throws ENAMETOOLONG', ({ dir }) => {
  const isNameTooLong = (e: unknown): boolean => e instanceof NativeError && e.errno === 36;
  assert.throws(() => native.listen(join(dir, 'x'.repeat(120)), 0o600), isNameTooLong);
});

test.run();
