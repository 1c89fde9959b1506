import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CliError, EXIT_FAILURE, EXIT_USAGE, describeError, errnoText, usageError } from '../../src/cli/errors.js';
import { SocketInUseError } from '../../src/server/index.js';
import { errnoName } from '../../src/protocol/errno.js';
import {
  ConnectError,
  DisconnectedError,
  NativeError,
  RemoteError,
  ReplyTimeoutError,
  VersionError,
} from '../../src/protocol/index.js';

test('a socket path that does not exist names the path and ENOENT', () => {
  const f = describeError(new ConnectError('cannot connect to /x/s: ENOENT', { path: '/x/s', errno: 'ENOENT' }));
  assert.equal(f, { message: 'cannot connect to /x/s: no such file or directory (ENOENT)', exitCode: EXIT_FAILURE, unexpected: false });
});

test('permission denied names the path and EACCES', () => {
  const f = describeError(new ConnectError('cannot connect to /x/s: EACCES', { path: '/x/s', errno: 'EACCES' }));
  assert.is(f.message, 'cannot connect to /x/s: permission denied (EACCES)');
  assert.is(f.exitCode, EXIT_FAILURE);
});

test('a refused connection says that nobody listens there', () => {
  const f = describeError(new ConnectError('x', { path: '/x/s', errno: 'ECONNREFUSED' }));
  assert.is(f.message, 'cannot connect to /x/s: connection refused (no server is listening there) (ECONNREFUSED)');
});

test('a peer that is not a vfio-user server keeps the client\'s explanation', () => {
  const msg = '/x/s is not a vfio-user server: connection closed by peer during VERSION';
  assert.is(describeError(new ConnectError(msg, { path: '/x/s', errno: 'EPROTO' })).message, msg);
  const silent = '/x/s did not answer VERSION within 500 ms';
  assert.is(describeError(new ConnectError(silent, { path: '/x/s', errno: 'ETIMEDOUT' })).message, silent);
});

test('each library error code gets its own wording, and exit code 1', () => {
  const cases: [unknown, RegExp][] = [
    [new VersionError('server speaks major 1, we speak 0'), /^version negotiation failed: server speaks major 1/],
    [new RemoteError('REGION_READ', 22), /^the device refused the request: REGION_READ failed: EINVAL \(22\)$/],
    [new ReplyTimeoutError('REGION_READ', 3, 5000), /^no reply: REGION_READ \(id 0x3\) got no reply within 5000 ms$/],
    [new DisconnectedError('connection closed by peer'), /^the connection ended: connection closed by peer$/],
    [new SocketInUseError('/x/s', 'another server is answering on it'), /^\/x\/s: another server is answering on it$/],
    [new NativeError('bind', 2), /^bind: ENOENT$/],
  ];
  for (const [err, expected] of cases) {
    const f = describeError(err);
    assert.match(f.message, expected);
    assert.is(f.exitCode, EXIT_FAILURE);
    assert.is(f.unexpected, false, f.message);
  }
});

test('a CLI error keeps its message and exit code', () => {
  assert.equal(describeError(new CliError('region bar1 does not exist on this device (size 0)')), {
    message: 'region bar1 does not exist on this device (size 0)',
    exitCode: EXIT_FAILURE,
    unexpected: false,
  });
  assert.is(describeError(usageError('bad')).exitCode, EXIT_USAGE);
});

test('anything else is an unexpected error on one line', () => {
  const f = describeError(new TypeError('x is not a function'));
  assert.equal(f, { message: 'unexpected error: x is not a function', exitCode: EXIT_FAILURE, unexpected: true });
  assert.is(describeError('a string').message, 'unexpected error: a string');
  assert.is(describeError(undefined).message, 'unexpected error: undefined');
});

test('errno numbers have their names, beyond the wire table (ENOTDIR, ENAMETOOLONG, ENOTSOCK)', () => {
  assert.equal([20, 36, 88, 11, 95].map(errnoName), ['ENOTDIR', 'ENAMETOOLONG', 'ENOTSOCK', 'EAGAIN', 'EOPNOTSUPP']);
  assert.is(errnoName(4095), 'E4095');
});

test('errno names read as words, unknown ones as themselves', () => {
  assert.is(errnoText('EACCES'), 'permission denied (EACCES)');
  assert.is(errnoText('ENOTSOCK'), 'not a socket (ENOTSOCK)');
  assert.is(errnoText('EWHATEVER'), 'EWHATEVER');
});

test.run();
