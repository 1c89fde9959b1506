/** The channel in one process over a socketpair: delivery, errors, fd hygiene, queueing. */
import { AsyncLocalStorage } from 'node:async_hooks';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NativeError, ClosedError } from '../../src/protocol/errors.js';
import { readFileSync } from 'node:fs';
import { DEFAULT_SEND_BUFFER_SIZE, closeAll, native, type Channel } from '../../src/native/index.js';
import { encodeMessage, fdText, makeFds, payloadIntact, readFdText } from './fixtures/messages.js';
import { Receiver } from './fixtures/receiver.js';
import { fdsOpenedSince, openFds, stillOpen } from '../fixtures/fds.js';

const EPIPE = 32;
const EPROTO = 71;
const ECONNRESET = 104;

/**
 * A connected pair of channels, not started. The system's default send buffer (about 200 KiB),
 * not the larger one channels ask for: the queueing specs need a socket that fills up.
 */
const pair = (options: { maxRecvFds?: number } = {}): [Channel, Channel] => {
  const [a, b] = native.socketpair();
  return [native.channelFromFd(a!, { sendBufferSize: 0 }), native.channelFromFd(b!, { ...options, sendBufferSize: 0 })];
};

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('delivers a message made of several chunks with its fds', async () => {
  const [a, b] = pair();
  const receiver = new Receiver(b);
  const msg = encodeMessage(7, 100);
  const fds = makeFds(7, 2);
  a.send([msg.subarray(0, 16), msg.subarray(16)], fds);
  closeAll(fds);
  const [m] = await receiver.messages(1);
  assert.ok(payloadIntact(m!));
  assert.equal(m!.fds.map(readFdText), [fdText(7, 0), fdText(7, 1)]);
  closeAll(m!.fds);
  a.close();
  b.close();
});

test('reports end() once when the peer closes, and nothing after it', async () => {
  const [a, b] = pair();
  let ends = 0;
  b.start({
    data: () => assert.unreachable('no data'),
    end: () => ends++,
    error: (e) => assert.unreachable(e.message),
  });
  a.close();
  while (ends === 0) await turn();
  await turn();
  assert.is(ends, 1);
  b.close();
});

test('MSG_CTRUNC is an error, the fds that arrived are closed, and no data follows', async () => {
  const [a, b] = pair({ maxRecvFds: 2 });
  const fds = makeFds(1, 4);
  const before = openFds();
  const receiver = new Receiver(b);
  a.send([encodeMessage(1, 16)], fds);
  a.send([encodeMessage(2, 16)]);
  await receiver.finished();
  assert.instance(receiver.error, NativeError);
  const err = receiver.error as NativeError;
  assert.is(err.syscall, 'recvmsg');
  assert.is(err.errno, EPROTO);
  assert.match(err.message, /control data was truncated/);
  assert.is(receiver.reads.length, 0);
  assert.equal(fdsOpenedSince(before), []);
  closeAll(fds);
  a.close();
  b.close();
});

test('EPIPE after the peer closed reaches the error handler later, not as a throw', async () => {
  const [a, b] = pair();
  const receiver = new Receiver(a);
  b.close();
  a.send([encodeMessage(1, 16)]);
  assert.is(receiver.error, undefined, 'not reported inside send()');
  await receiver.finished();
  assert.instance(receiver.error, NativeError);
  assert.is((receiver.error as NativeError).syscall, 'sendmsg');
  assert.is((receiver.error as NativeError).errno, EPIPE);
  assert.not.ok(receiver.ended);
  a.send([encodeMessage(2, 16)]); // dropped: the failure was already reported
  a.close();
});

test('a peer closing with our bytes unread: its last bytes still arrive, then ECONNRESET', async () => {
  const [a, b] = pair();
  const receiver = new Receiver(a);
  b.send([encodeMessage(1, 16)]);
  a.send([encodeMessage(2, 16)]); // never read by b
  b.close();
  await receiver.finished();
  assert.is(receiver.framer.messages.length, 1);
  assert.instance(receiver.error, NativeError);
  assert.is((receiver.error as NativeError).errno, ECONNRESET);
  a.close();
});

test('no fd leaks after 10,000 messages with fds', async () => {
  const [a, b] = pair();
  const receiver = new Receiver(b);
  const memfd = native.memfd('leak-check', 4096);
  a.send([encodeMessage(0, 16)], [memfd]); // warm-up: anything Node opens lazily opens now
  closeAll((await receiver.messages(1))[0]!.fds);
  const before = openFds();
  for (let round = 0; round < 100; round++) {
    for (let i = 0; i < 100; i++) a.send([encodeMessage(1 + round * 100 + i, 16)], [memfd]);
    const messages = await receiver.messages(1 + (round + 1) * 100);
    for (const m of messages.slice(-100)) {
      assert.is(m.fds.length, 1);
      closeAll(m.fds);
    }
  }
  assert.equal(fdsOpenedSince(before), []);
  native.close(memfd);
  a.close();
  b.close();
});

test('queued sends keep their order and their fds even when the caller closes its fds at once', async () => {
  const [a, b] = pair();
  const chunk = 32 * 1024;
  for (let i = 0; i < 64; i++) {
    const fds = makeFds(i, i % 5 === 0 ? 2 : 0);
    a.send([encodeMessage(i, chunk)], fds);
    closeAll(fds);
  }
  assert.ok(a.queuedBytes > 0, 'the socket buffer overflowed into the queue');
  const receiver = new Receiver(b);
  const messages = await receiver.messages(64);
  messages.forEach((m, i) => {
    assert.is(m.index, i);
    assert.ok(payloadIntact(m));
    assert.equal(m.fds.map(readFdText), i % 5 === 0 ? [fdText(i, 0), fdText(i, 1)] : []);
    closeAll(m.fds);
  });
  assert.is(a.queuedBytes, 0);
  a.close();
  b.close();
});

test('close() drops queued bytes with their fds, is idempotent, and later use throws ClosedError', async () => {
  const [a, b] = pair();
  const fds = makeFds(0, 3);
  const socket = a.fd;
  const before = openFds();
  for (let i = 0; i < 64; i++) a.send([encodeMessage(i, 32 * 1024)], fds);
  assert.ok(a.queuedBytes > 0);
  a.close();
  a.close();
  assert.is(a.fd, -1);
  assert.is(a.queuedBytes, 0);
  assert.equal(fdsOpenedSince(before), [], 'the queued duplicates are closed');
  assert.not.ok(stillOpen(before, socket), 'the socket is closed');
  assert.throws(() => a.send([encodeMessage(0, 16)]), (e: unknown) => e instanceof ClosedError);
  assert.throws(() => a.start({ data() {}, end() {}, error() {} }), (e: unknown) => e instanceof ClosedError);
  closeAll(fds);
  b.close();
});

test('a channel asks for a send buffer that takes a 1 MiB message at once, where net.core.wmem_max allows it', () => {
  const [x, y] = native.socketpair();
  const a = native.channelFromFd(x!);
  const b = native.channelFromFd(y!);
  const big = encodeMessage(1, 1 << 20);
  a.send([big]);
  // The kernel caps SO_SNDBUF at wmem_max and doubles what it grants.
  const granted = 2 * Math.min(DEFAULT_SEND_BUFFER_SIZE, Number(readFileSync('/proc/sys/net/core/wmem_max', 'utf8')));
  if (granted > 2 * big.length) assert.is(a.queuedBytes, 0, 'one sendmsg took the whole message');
  else assert.ok(a.queuedBytes > 0, 'capped by wmem_max: the rest is queued');
  a.close();
  b.close();
});

test('send() rejects fds without payload and bad fds, leaving the stream intact', async () => {
  const [a, b] = pair();
  const receiver = new Receiver(b);
  assert.throws(() => a.send([], [0]), /payload byte/);
  const closed = native.memfd('closed', 0);
  native.close(closed);
  const isEbadf = (e: unknown): boolean => e instanceof NativeError && e.errno === 9;
  assert.throws(() => a.send([encodeMessage(1, 16)], [closed]), isEbadf);
  a.send([encodeMessage(2, 16)]);
  const [m] = await receiver.messages(1);
  assert.is(m!.index, 2);
  a.close();
  b.close();
});

test('callbacks run in the async context of start()', async () => {
  const [a, b] = pair();
  const als = new AsyncLocalStorage<string>();
  const seen = new Promise<string | undefined>((resolve) =>
    als.run('started here', () => b.start({ data: () => resolve(als.getStore()), end() {}, error() {} })),
  );
  a.send([encodeMessage(1, 16)]);
  assert.is(await seen, 'started here');
  a.close();
  b.close();
});

test('an exception thrown by a handler becomes an uncaught exception', async () => {
  const [a, b] = pair();
  const listeners = process.listeners('uncaughtException');
  process.removeAllListeners('uncaughtException');
  const caught = new Promise<Error>((resolve) => process.once('uncaughtException', resolve));
  try {
    b.start({ data: () => { throw new Error('thrown by data'); }, end() {}, error() {} });
    a.send([encodeMessage(1, 16)]);
    assert.is((await caught).message, 'thrown by data');
  } finally {
    listeners.forEach((l) => process.on('uncaughtException', l));
  }
  a.close();
  b.close();
});

test.run();
