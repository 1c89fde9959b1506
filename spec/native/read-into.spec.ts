/** Channel.readInto: the rest of a large message read straight into its own buffer. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ClosedError } from '../../src/protocol/errors.js';
import { closeAll, native, type Channel } from '../../src/native/index.js';
import { encodeMessage, fdText, makeFds, readFdText } from './fixtures/messages.js';

/** A connected pair of channels, not started. */
const pair = (): [Channel, Channel] => {
  const [a, b] = native.socketpair();
  return [native.channelFromFd(a!), native.channelFromFd(b!)];
};

/** Every data() call of a channel, and a way to wait for a condition on them. */
const record = (channel: Channel) => {
  const calls: { bytes: Buffer; fds: number[]; filled: boolean }[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  channel.start({
    data: (bytes, fds, filled) => {
      calls.push({ bytes, fds: [...fds], filled });
      notify();
    },
    end: () => {
      ended = true;
      notify();
    },
    error: (err) => assert.unreachable(err.message),
  });
  const until = async (done: () => boolean) => {
    while (!done()) await new Promise<void>((resolve) => (wake = resolve));
  };
  return { calls, until, ended: () => ended };
};

test('fills the target with the next bytes of the stream and reports the bytes after it with filled', async () => {
  const [a, b] = pair();
  const big = encodeMessage(1, 300 * 1024);
  const small = encodeMessage(2, 40);
  const target = Buffer.alloc(big.length);
  big.copy(target, 0, 0, 100); // as a framer would: the first read's bytes already in place
  b.readInto(target, 100);
  const r = record(b);
  a.send([big.subarray(100)]);
  a.send([small]);
  const filledAt = () => r.calls.findIndex((c) => c.filled);
  const after = () => Buffer.concat(r.calls.slice(filledAt()).map((c) => c.bytes));
  await r.until(() => filledAt() >= 0 && after().length >= small.length);
  assert.ok(target.equals(big), 'the target holds the message');
  assert.is(r.calls.filter((c) => c.filled).length, 1);
  assert.equal(r.calls.slice(0, filledAt()), [], 'reads that only fill the target are not reported');
  assert.ok(after().equals(small), 'the bytes after the target arrive in order');
  a.close();
  b.close();
});

test('fds that come while the target fills are reported with empty bytes, not filled', async () => {
  const [a, b] = pair();
  const big = encodeMessage(3, 512 * 1024);
  const fds = makeFds(3, 2);
  const target = Buffer.alloc(big.length);
  b.readInto(target, 0);
  const r = record(b);
  a.send([big], fds);
  closeAll(fds);
  await r.until(() => r.calls.some((c) => c.filled));
  const withFds = r.calls.filter((c) => c.fds.length > 0);
  assert.is(withFds.length, 1);
  assert.equal(withFds[0]!.fds.map(readFdText), [fdText(3, 0), fdText(3, 1)]);
  assert.is(withFds[0]!.bytes.length, 0);
  assert.ok(target.equals(big));
  closeAll(withFds[0]!.fds);
  a.close();
  b.close();
});

test('a target filled exactly by a read is reported with empty bytes', async () => {
  const [a, b] = pair();
  const msg = encodeMessage(4, 64 * 1024);
  const target = Buffer.alloc(msg.length);
  b.readInto(target, 0);
  const r = record(b);
  a.send([msg]);
  await r.until(() => r.calls.some((c) => c.filled));
  const last = r.calls[r.calls.length - 1]!;
  assert.ok(last.filled);
  assert.is(last.bytes.length, 0);
  assert.ok(target.equals(msg));
  a.close();
  b.close();
});

test('the peer closing while the target fills ends the stream', async () => {
  const [a, b] = pair();
  const target = Buffer.alloc(1 << 20);
  b.readInto(target, 0);
  const r = record(b);
  a.send([encodeMessage(5, 1000)]);
  a.close();
  await r.until(r.ended);
  assert.not.ok(r.calls.some((c) => c.filled));
  assert.ok(target.subarray(0, 1000).equals(encodeMessage(5, 1000)));
  b.close();
});

test('refuses a second target, an offset at or past the end, and a closed channel', () => {
  const [a, b] = pair();
  assert.throws(() => b.readInto(Buffer.alloc(16), 16), (e: unknown) => e instanceof RangeError);
  b.readInto(Buffer.alloc(64), 0);
  assert.throws(() => b.readInto(Buffer.alloc(64), 0), /already being filled/);
  b.close();
  assert.throws(() => b.readInto(Buffer.alloc(64), 0), (e: unknown) => e instanceof ClosedError);
  a.close();
});

test.run();
