/** The channel between two processes: fd ownership, partial reads, queued sends, shared mappings. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { closeAll, native, type Channel } from '../../src/native/index.js';
import { CONTROL, encodeMessage, fdText, payloadIntact, readFdText, type TestMessage } from './fixtures/messages.js';
import { Receiver } from './fixtures/receiver.js';
import { spawnPeer, type Peer } from './fixtures/spawn-peer.js';

/** Accepts the peer's connection (not started) and runs `body`; cleans everything up. */
const withPeer = async (mode: string, body: (channel: Channel, peer: Peer) => Promise<void>): Promise<void> => {
  const dir = mkdtempSync(join(tmpdir(), 'vfu-native-'));
  const listener = native.listen(join(dir, 'sock'), 0o600);
  const peer = spawnPeer(mode, join(dir, 'sock'));
  try {
    const channel = await Promise.race([
      new Promise<Channel>((resolve, reject) => listener.start(resolve, reject)),
      peer.exited.then(() => Promise.reject(new Error('peer exited before connecting'))),
    ]);
    listener.close();
    try {
      await body(channel, peer);
    } finally {
      channel.close(); // the peer sees EOF and exits
    }
    assert.is(await peer.exited, 0, 'peer exit code');
  } finally {
    peer.kill();
    listener.close();
    rmSync(dir, { recursive: true, force: true });
  }
};

/** Asserts that every fd of a message names that message, then closes them. */
const checkFds = (m: TestMessage, expected: number): void => {
  assert.is(m.fds.length, expected, `fd count of message ${m.index}`);
  m.fds.forEach((fd, k) => assert.is(readFdText(fd), fdText(m.index, k)));
  closeAll(m.fds);
};

test('back-to-back messages from separate sends each get exactly their own fds', () =>
  withPeer('burst', async (channel, peer) => {
    const { count } = await peer.next('sent'); // all of it waits in the socket before we read
    const receiver = new Receiver(channel);
    const messages = await receiver.messages(Number(count));
    const fdCounts = [0, 0, 1, 0, 2, 0, 0, 3, 1, 1];
    messages.forEach((m, i) => {
      assert.is(m.index, i);
      assert.ok(payloadIntact(m));
      checkFds(m, fdCounts[i % fdCounts.length]!);
    });
    // Merged reads are what makes the ownership rule necessary: prove the burst produced some.
    const reads = receiver.reads.length;
    assert.ok(reads < messages.length, `${reads} reads for ${messages.length} messages`);
  }));

test('a 600 KiB message with an fd arrives in several reads, the fd with the first', () =>
  withPeer('big', async (channel, peer) => {
    const { queued } = await peer.next('sent');
    assert.ok(Number(queued) > 0, 'the sender had to queue part of the message');
    const receiver = new Receiver(channel);
    const [big, small] = await receiver.messages(2);
    assert.is(big!.bytes.length, 600 * 1024);
    assert.ok(payloadIntact(big!));
    checkFds(big!, 1);
    checkFds(small!, 1);
    assert.ok(receiver.reads.length >= 3, `${receiver.reads.length} reads`);
    assert.is(receiver.reads[0]!.fds, 1, 'the fd came with the first read');
    assert.ok(receiver.reads.slice(1, -1).every((r) => r.fds === 0));
  }));

test('a mapping of a received memfd sees what the sender writes afterwards', () =>
  withPeer('mmap', async (channel, peer) => {
    await peer.next('sent');
    const receiver = new Receiver(channel);
    const [shared] = await receiver.messages(1);
    const [fd] = shared!.fds;
    const whole = native.mmap(fd!, 0, 3 * 4096, 'r');
    const unaligned = native.mmap(fd!, 4096 + 100, 64, 'r');
    native.close(fd!); // the mappings outlive the fd
    channel.send([encodeMessage(CONTROL.mapped, 16)]);
    const [, written] = await receiver.messages(2);
    assert.is(written!.index, 2);
    assert.is(Buffer.from(whole, 0, 25).toString(), 'written by the child at 0');
    assert.is(Buffer.from(unaligned, 0, 28).toString(), 'written by the child at 4196');
    const view = new Uint8Array(whole);
    native.munmap(whole);
    native.munmap(unaligned);
    assert.is(whole.byteLength, 0);
    assert.is(view.length, 0);
  }));

test('8 MiB sent while the peer does not read arrives in order with its fds, and the queue drains', () =>
  withPeer('flood', async (channel, peer) => {
    const { queued } = await peer.next('queued');
    assert.ok(Number(queued) > 0, 'the socket buffer overflowed into the queue');
    const receiver = new Receiver(channel);
    const messages = await receiver.messages(128);
    messages.forEach((m, i) => {
      assert.is(m.index, i);
      assert.is(m.bytes.length, 64 * 1024);
      assert.ok(payloadIntact(m), `payload of message ${i}`);
      checkFds(m, i % 8 === 0 ? 1 : 0);
    });
    channel.send([encodeMessage(CONTROL.done, 16)]);
    const drained = await peer.next('drained');
    assert.is(drained.queued, 0);
  }));

test.run();
