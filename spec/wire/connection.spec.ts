import { firstValueFrom, take, toArray, lastValueFrom, map } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { native } from '../../src/native/index.js';
import { Command, MessageType } from '../../src/protocol/constants.js';
import { DisconnectedError, LimitError, ProtocolError } from '../../src/protocol/errors.js';
import { encodeHeader } from '../../src/protocol/header.js';
import { SEND_AT_ONCE_BYTES, connection } from '../../src/wire/connection.js';
import type { Channel, ChannelHandlers } from '../../src/native/types.js';
import type { Frame } from '../../src/protocol/frame.js';
import type { TraceEvent } from '../../src/wire/trace.js';
import { fdsOpenedSince, openFds } from '../fixtures/fds.js';

const closeFd = (fd: number) => native.close(fd);
const pair = () => {
  const [a, b] = native.socketpair();
  return [connection(native.channelFromFd(a), { closeFd }), connection(native.channelFromFd(b), { closeFd })] as const;
};
const memfdNamed = (text: string) => {
  const fd = native.memfd(text, 64);
  const view = new Uint8Array(native.mmap(fd, 0, 64, 'rw'));
  view.set(Buffer.from(text));
  return fd;
};
const readMemfd = (fd: number) => {
  const ab = native.mmap(fd, 0, 64, 'r');
  const text = Buffer.from(ab).toString().replace(/\0+$/, '');
  native.munmap(ab);
  return text;
};

test('back-to-back messages with and without fds each arrive with exactly their own fds', async () => {
  const [a, b] = pair();
  const got = firstValueFrom(b.frames$.pipe(take(6), toArray()));
  const plan = [[], ['m1-x', 'm1-y'], [], ['m3'], ['m4-a', 'm4-b', 'm4-c'], []];
  const sentFds: number[] = [];
  plan.forEach((names, id) => {
    const fds = names.map(memfdNamed);
    sentFds.push(...fds);
    a.send({ id, command: Command.REGION_WRITE, flags: 0, payload: Buffer.alloc(8 + id * 1000, id), fds });
  });
  sentFds.forEach((fd) => native.close(fd));
  const frames = await got;
  assert.equal(
    frames.map((f) => f.fds.map(readMemfd)),
    plan,
  );
  frames.forEach((f, i) => assert.is(f.payload.length, 8 + i * 1000));
  frames.forEach((f) => f.fds.forEach((fd) => native.close(fd)));
  a.close();
  b.close();
});

test('a burst of fd-less messages in one tick is coalesced yet arrives as separate frames', async () => {
  const [a, b] = pair();
  const got = firstValueFrom(b.frames$.pipe(take(500), toArray()));
  for (let id = 0; id < 500; id++) a.send({ id, command: Command.REGION_WRITE, flags: 0x10, payload: Buffer.alloc(24, id & 0xff) });
  const frames = await got;
  assert.equal(frames.map((f) => f.header.id), [...Array(500).keys()]);
  assert.ok(frames.every((f) => f.payload.equals(Buffer.alloc(24, f.header.id & 0xff))));
  a.close();
  b.close();
});

/** A channel that records each send() as the bytes it held then (the contract lets a sender reuse them after). */
const recordingChannel = () => {
  const writes: { ids: number[]; fds: number }[] = [];
  let handlers: ChannelHandlers | undefined;
  const channel: Channel = {
    fd: 99,
    queuedBytes: 0,
    start: (h) => void (handlers = h),
    send: (chunks, fds) => {
      const bytes = Buffer.concat(chunks);
      const ids: number[] = [];
      for (let at = 0; at < bytes.length; at += bytes.readUInt32LE(at + 4)) ids.push(bytes.readUInt16LE(at));
      writes.push({ ids, fds: fds?.length ?? 0 });
    },
    readInto: () => undefined,
    close: () => undefined,
  };
  const read = () => handlers!.data(encodeHeader({ id: 500, command: Command.VERSION, size: 16, flags: MessageType.REPLY, error: 0 }), [], false);
  return { channel, writes, read };
};
const msg = (id: number, fds?: number[]) => ({ id, command: Command.REGION_WRITE, flags: 0, payload: Buffer.alloc(8, id), ...(fds ? { fds } : {}) });

test('the first message after a read goes out within send(); the rest of the burst is gathered into one write', async () => {
  const { channel, writes, read } = recordingChannel();
  const conn = connection(channel, { closeFd });
  conn.frames$.subscribe({ error: () => undefined });
  conn.send(msg(1));
  conn.send(msg(2));
  conn.send(msg(3));
  assert.equal(writes, [{ ids: [1], fds: 0 }]);
  assert.is(conn.queuedBytes, 48);
  await Promise.resolve();
  assert.equal(writes.slice(1), [{ ids: [2, 3], fds: 0 }]);
  read();
  conn.send(msg(4)); // a reply or the next request: waits for nothing
  assert.equal(writes.slice(2), [{ ids: [4], fds: 0 }]);
  await Promise.resolve();
  assert.is(writes.length, 3);
  conn.close();
});

test('queuedBytes is the channel\'s queue plus what is gathered, and asks the channel once per gathering', async () => {
  const { channel } = recordingChannel();
  let asked = 0;
  let native = 100;
  const counting: Channel = { ...channel, get queuedBytes() { asked++; return native; } };
  const conn = connection(counting, { closeFd });
  conn.frames$.subscribe({ error: () => undefined });
  conn.send(msg(1)); // written at once
  assert.is(conn.queuedBytes, 100);
  conn.send(msg(2));
  conn.send(msg(3));
  asked = 0;
  assert.is(conn.queuedBytes, 148);
  assert.is(conn.queuedBytes, 148);
  assert.is(asked, 1);
  await Promise.resolve(); // the gathering goes out; the socket drains on a later turn
  native = 0;
  conn.send(msg(4));
  assert.is(conn.queuedBytes, 24);
  conn.close();
});

test('queuedBytes stays exact when a long gathering goes out in several writes', () => {
  let queued = 0; // a socket that takes nothing: every byte sent stays queued
  const channel: Channel = {
    fd: 99,
    get queuedBytes() {
      return queued;
    },
    start: () => undefined,
    send: (chunks) => void (queued += chunks.reduce((n, c) => n + c.length, 0)),
    readInto: () => undefined,
    close: () => undefined,
  };
  const conn = connection(channel, { closeFd, maxQueuedBytes: 1 << 30 });
  let sent = 0;
  for (let id = 0; id < 400; id++) {
    const message = { id, command: Command.REGION_WRITE, flags: 0, payload: Buffer.alloc(1000) };
    conn.send(message);
    sent += 16 + 1000;
    assert.is(conn.queuedBytes, sent);
  }
  assert.ok(queued > 256 * 1024, 'the gathering went out in pieces');
  conn.close();
});

test('a message with fds goes out within send(), behind what was gathered, and starts no gathering', async () => {
  const { channel, writes } = recordingChannel();
  const conn = connection(channel, { closeFd });
  conn.send(msg(1));
  conn.send(msg(2));
  conn.send(msg(3, [7]));
  conn.send(msg(4));
  assert.equal(writes, [{ ids: [1], fds: 0 }, { ids: [2], fds: 0 }, { ids: [3], fds: 1 }]);
  await Promise.resolve();
  assert.equal(writes.slice(3), [{ ids: [4], fds: 0 }]);
  conn.close();
});

test('large messages, read straight into their own buffers, arrive whole with their fds and in order with small ones', async () => {
  const [a, b] = pair();
  const got = firstValueFrom(b.frames$.pipe(take(5), toArray()));
  const sizes = [1 << 20, 16, 300 * 1024, 8, (1 << 20) - 64];
  const fd = memfdNamed('with-the-big-one');
  sizes.forEach((size, id) => {
    const payload = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4096) payload[i] = (id + i / 4096) & 0xff;
    a.send({ id, command: Command.DMA_WRITE, flags: 0, payload, fds: id === 2 ? [fd] : [] });
  });
  native.close(fd);
  const frames = await got;
  assert.equal(frames.map((f) => f.payload.length), sizes);
  frames.forEach((f, id) => {
    for (let i = 0; i < f.payload.length; i += 4096) assert.is(f.payload[i], (id + i / 4096) & 0xff);
  });
  assert.equal(frames.map((f) => f.fds.map(readMemfd)), [[], [], ['with-the-big-one'], [], []]);
  frames[2]!.fds.forEach((x) => native.close(x));
  a.close();
  b.close();
});

test('a message of SEND_AT_ONCE_BYTES or more is written within send(): changing its pieces afterwards changes nothing', async () => {
  const [a, b] = pair();
  const got = firstValueFrom(b.frames$.pipe(take(3), toArray()));
  const data = Buffer.alloc(SEND_AT_ONCE_BYTES, 0x5a);
  a.send({ id: 1, command: Command.REGION_WRITE, flags: 0, payload: Buffer.alloc(8) }); // opens a gathering turn
  a.send({ id: 2, command: Command.DMA_WRITE, flags: 0, payload: [Buffer.alloc(16), data] });
  data.fill(0xff);
  a.send({ id: 3, command: Command.REGION_WRITE, flags: 0, payload: Buffer.alloc(8) });
  const frames = await got;
  assert.equal(frames.map((f) => f.header.id), [1, 2, 3]);
  assert.ok(frames[1]!.payload.subarray(16).equals(Buffer.alloc(SEND_AT_ONCE_BYTES, 0x5a)));
  a.close();
  b.close();
});

test('a gathered message is copied within send(): changing its payload afterwards changes nothing', async () => {
  const [a, b] = pair();
  const got = firstValueFrom(b.frames$.pipe(take(3), toArray()));
  const reused = Buffer.alloc(8, 0x11);
  a.send({ id: 1, command: Command.REGION_WRITE, flags: 0, payload: reused }); // written at once
  reused.fill(0x22);
  a.send({ id: 2, command: Command.REGION_WRITE, flags: 0, payload: reused }); // gathered
  reused.fill(0x33);
  a.send({ id: 3, command: Command.REGION_WRITE, flags: 0, payload: [reused.subarray(0, 3), reused.subarray(3)] });
  reused.fill(0x44);
  const frames = await got;
  assert.equal(frames.map((f) => f.payload.toString('hex')), ['11', '22', '33'].map((x) => x.repeat(8)));
  a.close();
  b.close();
});

test('a turn that gathers more than the gathering buffer holds goes out whole and in order', async () => {
  const [a, b] = pair();
  const count = 2000;
  const got = firstValueFrom(b.frames$.pipe(take(count), toArray()));
  a.send({ id: 0, command: Command.REGION_WRITE, flags: 0, payload: Buffer.alloc(8) }); // opens a gathering turn
  for (let id = 1; id < count; id++) a.send({ id, command: Command.REGION_WRITE, flags: 0, payload: Buffer.alloc(200 + (id % 300), id & 0xff) });
  const frames = await got;
  assert.equal(frames.map((f) => f.header.id), Array.from({ length: count }, (_, i) => i));
  assert.ok(frames.slice(1).every((f) => f.payload.length === 200 + (f.header.id % 300) && f.payload.every((x) => x === (f.header.id & 0xff))));
  a.close();
  b.close();
});

test('corrupt framing ends the stream with one DisconnectedError whose cause is the ProtocolError', async () => {
  const [a, b] = pair();
  const [raw, peer] = native.socketpair();
  const conn = connection(native.channelFromFd(peer), { closeFd });
  const result = lastValueFrom(conn.frames$).catch((e: unknown) => e);
  const rawChannel = native.channelFromFd(raw);
  rawChannel.start({ data: () => undefined, end: () => undefined, error: () => undefined });
  rawChannel.send([encodeHeader({ id: 1, command: 1, size: 16, flags: 7, error: 0 })]);
  const err = await result;
  assert.instance(err, DisconnectedError);
  assert.instance((err as DisconnectedError).cause, ProtocolError);
  assert.ok(conn.closed);
  rawChannel.close();
  a.close();
  b.close();
});

test('a frame above the size limit is refused as corrupt framing', async () => {
  const [raw, peer] = native.socketpair();
  const conn = connection(native.channelFromFd(peer), { closeFd, maxFrameSize: 1024 });
  const result = lastValueFrom(conn.frames$).catch((e: unknown) => e);
  const rawChannel = native.channelFromFd(raw);
  rawChannel.start({ data: () => undefined, end: () => undefined, error: () => undefined });
  rawChannel.send([encodeHeader({ id: 1, command: 9, size: 4096, flags: 0, error: 0 }), Buffer.alloc(4080)]);
  const err = (await result) as DisconnectedError;
  assert.instance(err.cause, ProtocolError);
  assert.is((err.cause as ProtocolError).field, 'msg_size');
  rawChannel.close();
});

test('EOF from the peer ends frames$ with DisconnectedError', async () => {
  const [a, b] = pair();
  const result = lastValueFrom(b.frames$).catch((e: unknown) => e);
  a.close();
  const err = await result;
  assert.instance(err, DisconnectedError);
  assert.match((err as Error).message, /closed by peer/);
  b.close();
});

for (const [what, size] of [['large', SEND_AT_ONCE_BYTES], ['small', 4096]] as const) {
  test(`a peer that never reads is cut off once its unread bytes pass maxQueuedBytes (${what} messages)`, async () => {
    const [a, b] = native.socketpair();
    const us = connection(native.channelFromFd(a), { closeFd, maxQueuedBytes: 1 << 20 });
    const peer = native.channelFromFd(b); // never started: it reads nothing
    const ended = lastValueFrom(us.frames$).catch((e: unknown) => e);
    let sent = 0;
    while (!us.closed && sent < 10_000) {
      us.send({ id: sent, command: Command.REGION_READ, flags: MessageType.REPLY, payload: Buffer.alloc(size) });
      sent++;
      if (sent % 16 === 0) await new Promise((r) => setImmediate(r));
    }
    const err = await ended;
    assert.instance(err, DisconnectedError);
    assert.instance((err as DisconnectedError).cause, LimitError);
    assert.ok(us.closed);
    assert.ok(sent * size < 8 << 20, `stopped after ${sent} messages of ${size} bytes`);
    peer.close();
  });
}

test('messages read together after one whose handler closed the connection have their fds closed', async () => {
  const [a, b] = native.socketpair();
  const before = openFds();
  const us = connection(native.channelFromFd(a), { closeFd });
  const peer = native.channelFromFd(b);
  const ended = lastValueFrom(us.frames$.pipe(map(() => us.close()))).catch((e: unknown) => e);
  const two = Buffer.concat([encodeHeader({ id: 1, command: Command.DEVICE_RESET, size: 16, flags: 0, error: 0 }), encodeHeader({ id: 2, command: Command.DMA_MAP, size: 16, flags: 0, error: 0 })]);
  const memfd = native.memfd('second', 4096);
  peer.send([two], [memfd]); // one sendmsg: the fd belongs to the second message
  native.close(memfd);
  assert.instance(await ended, DisconnectedError);
  peer.close();
  for (let i = 0; i < 20 && fdsOpenedSince(before).length > 0; i++) await new Promise((r) => setImmediate(r));
  assert.equal(fdsOpenedSince(before), []);
});

test('trace$ reports each message in both directions, and send after close throws', async () => {
  const [a, b] = pair();
  const outs: TraceEvent[] = [];
  a.trace$.subscribe((e) => outs.push(e));
  const ins = firstValueFrom(b.trace$.pipe(take(2), toArray()));
  b.frames$.subscribe({ error: () => undefined });
  a.send({ id: 0x12, command: Command.DEVICE_GET_INFO, flags: MessageType.COMMAND, payload: Buffer.alloc(16) });
  a.send({ id: 0x13, command: Command.REGION_WRITE, flags: 0x10, payload: Buffer.alloc(20), fds: [] });
  const seen = await ins;
  assert.equal(
    seen.map((e) => [e.direction, e.id, e.commandName, e.size, e.noReply]),
    [
      ['in', 0x12, 'DEVICE_GET_INFO', 32, false],
      ['in', 0x13, 'REGION_WRITE', 36, true],
    ],
  );
  assert.equal(outs.map((e) => e.direction), ['out', 'out']);
  a.close();
  assert.throws(() => a.send({ id: 1, command: 1, flags: 0 }), /closed/);
  b.close();
});

test('no fd leaks after 10,000 messages with fds', async () => {
  const [a, b] = pair();
  const count = 10_000;
  const fd = native.eventfd();
  const received = lastValueFrom(
    b.frames$.pipe(
      take(count),
      map((f: Frame) => {
        f.fds.forEach((x) => native.close(x));
        return f.fds.length;
      }),
      toArray(),
    ),
  );
  // warm up allocations the runtime keeps (libuv, V8) before measuring
  const before = openFds();
  for (let id = 0; id < count; id++) a.send({ id: id & 0xffff, command: Command.DMA_MAP, flags: 0, payload: Buffer.alloc(32), fds: [fd] });
  const counts = await received;
  assert.ok(counts.every((n) => n === 1));
  assert.equal(fdsOpenedSince(before), []);
  native.close(fd);
  a.close();
  b.close();
});

test.run();
