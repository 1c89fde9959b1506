import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { lines, run, tempDir, type Result } from './fixtures/cli.js';

const dir = tempDir();
const peers: net.Server[] = [];
const test = suite('vfio-user');

test.after(async () => {
  await Promise.all(peers.map((s) => new Promise((r) => s.close(r))));
  dir.remove();
});

/**
 * A listening UNIX socket that is not a vfio-user server: it answers each connection with `serve`.
 * It reads (and ignores) what comes, so that it sees the client go and can close.
 */
const fakePeer = (name: string, serve: (s: net.Socket) => void): Promise<string> => {
  const path = join(dir.path, name);
  const server = net.createServer((s) => {
    s.resume();
    serve(s);
  });
  peers.push(server);
  return new Promise((resolve) => server.listen(path, () => resolve(path)));
};

/** The failure contract: exit 1, one line on stderr starting `vfio-user: `, no stack, nothing on stdout. */
const failsWith = (r: Result, pattern: RegExp, code = 1) => {
  assert.is(r.code, code, r.stderr);
  const errLines = lines(r.stderr);
  assert.ok(errLines.length >= 1, 'a message');
  assert.match(errLines[0]!, /^vfio-user: /);
  assert.match(errLines[0]!, pattern);
  assert.not.match(r.stderr, /^\s+at /m, 'no stack trace');
  assert.is(r.stdout, '');
};

test('--help lists every command', async () => {
  const r = await run(['--help']);
  assert.is(r.code, 0);
  for (const cmd of ['demo', 'serve', 'info', 'read', 'write', 'monitor', 'migrate']) assert.match(r.stdout, new RegExp(`^  ${cmd} `, 'm'));
  assert.match(r.stdout, /Exit status: 0 on success, 1 when something failed, 2 when the command line is wrong/);
});

test('no command prints the help on stderr and exits 2', async () => {
  const r = await run([]);
  assert.is(r.code, 2);
  assert.match(r.stderr, /Usage: vfio-user/);
});

test('--version prints the package version', async () => {
  const r = await run(['--version']);
  assert.is(r.code, 0);
  assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
});

test('an unknown command and a missing argument are usage errors (exit 2)', async () => {
  const unknown = await run(['frobnicate']);
  assert.is(unknown.code, 2);
  assert.match(unknown.stderr, /^vfio-user: unknown command 'frobnicate'/);
  const missing = await run(['info']);
  assert.is(missing.code, 2);
  assert.match(missing.stderr, /^vfio-user: missing required argument 'socket'/);
});

test('a socket path that does not exist', async () => {
  const path = join(dir.path, 'nothing-here.sock');
  failsWith(await run(['info', path]), new RegExp(`cannot connect to ${path}: no such file or directory \\(ENOENT\\)$`));
});

test('a path that is a plain file, not a socket', async () => {
  const path = join(dir.path, 'plain-file');
  writeFileSync(path, 'not a socket');
  failsWith(await run(['info', path]), new RegExp(`cannot connect to ${path}: not a socket$`));
});

test('a peer that writes garbage is not a vfio-user server', async () => {
  const path = await fakePeer('garbage.sock', (s) => s.end(Buffer.from(`HTTP/1.1 400 Bad Request\r\n\r\n${'x'.repeat(64)}`)));
  failsWith(await run(['info', path]), new RegExp(`${path} is not a vfio-user server`));
});

test('a peer that closes at once is not a vfio-user server', async () => {
  const path = await fakePeer('closing.sock', (s) => s.destroy());
  failsWith(await run(['read', path, 'bar0', '0']), new RegExp(`${path} is not a vfio-user server`));
});

test('a peer that never answers fails after --timeout', async () => {
  const path = await fakePeer('silent.sock', () => undefined);
  failsWith(await run(['info', path, '--timeout', '300']), new RegExp(`${path} did not answer VERSION within 300 ms`));
});

test('--debug (or VFIO_USER_DEBUG=1) adds the stack after the one-line message', async () => {
  const path = join(dir.path, 'nothing-here.sock');
  for (const r of [await run(['--debug', 'info', path]), await run(['info', path], { env: { VFIO_USER_DEBUG: '1' } })]) {
    assert.is(r.code, 1);
    assert.match(lines(r.stderr)[0]!, /^vfio-user: cannot connect to .*ENOENT/);
    assert.match(r.stderr, /^ConnectError: /m);
    assert.match(r.stderr, /^\s+at /m);
  }
});

// Root passes every permission check, so the mapping of EACCES is tested in errors.spec.ts instead.
if (process.getuid?.() !== 0) {
  test('permission denied (a socket in a directory with mode 000)', async () => {
    const locked = join(dir.path, 'locked');
    mkdirSync(locked);
    const path = await fakePeer('locked/peer.sock', () => undefined);
    chmodSync(locked, 0o000);
    try {
      failsWith(await run(['info', path]), new RegExp(`cannot connect to ${path}: permission denied \\(EACCES\\)$`));
    } finally {
      chmodSync(locked, 0o700);
    }
  });
}

test.run();
