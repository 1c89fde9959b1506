import { Subject, firstValueFrom, toArray, of, from, lastValueFrom } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeFrames } from '../../src/wire/decode-frames.js';
import { encodeHeader } from '../../src/protocol/header.js';
import { ProtocolError } from '../../src/protocol/errors.js';
import type { Chunk, Frame } from '../../src/protocol/frame.js';

const message = (id: number, payloadBytes: number, fill = id): Buffer => {
  const payload = Buffer.alloc(payloadBytes, fill);
  return Buffer.concat([encodeHeader({ id, command: 9, size: 16 + payloadBytes, flags: 0, error: 0 }), payload]);
};

const setup = (maxFrameSize = 1 << 20) => {
  const closed: number[] = [];
  const op = decodeFrames({ maxFrameSize, closeFd: (fd) => closed.push(fd) });
  return { closed, op };
};

const run = async (chunks: Chunk[], maxFrameSize?: number) => {
  const { op } = setup(maxFrameSize);
  return lastValueFrom(from(chunks).pipe(op, toArray()));
};

test('splits many messages delivered in one read', async () => {
  const frames = await run([{ bytes: Buffer.concat([message(1, 4), message(2, 0), message(3, 8)]), fds: [] }]);
  assert.equal(frames.map((f) => f.header.id), [1, 2, 3]);
  assert.equal(frames.map((f) => f.payload.length), [4, 0, 8]);
  assert.ok(frames[2]!.payload.equals(Buffer.alloc(8, 3)));
});

test('reassembles a message split across reads, header split too', async () => {
  const m = message(7, 100);
  const frames = await run([
    { bytes: m.subarray(0, 5), fds: [] },
    { bytes: m.subarray(5, 20), fds: [] },
    { bytes: m.subarray(20), fds: [] },
  ]);
  assert.is(frames.length, 1);
  assert.ok(frames[0]!.payload.equals(Buffer.alloc(100, 7)));
});

test('fds go to the last message that has started in the bytes received so far', async () => {
  const a = message(1, 8);
  const b = message(2, 8);
  const c = message(3, 8);
  // read 1: a whole + first half of b, with b's fds; read 2: rest of b + c whole, with c's fds
  const frames = await run([
    { bytes: Buffer.concat([a, b.subarray(0, 10)]), fds: [10, 11] },
    { bytes: Buffer.concat([b.subarray(10), c]), fds: [12] },
  ]);
  assert.equal(frames.map((f) => [f.header.id, [...f.fds]]), [
    [1, []],
    [2, [10, 11]],
    [3, [12]],
  ]);
});

test('fds of a read that only continues a message stay with that message', async () => {
  const big = message(4, 600 * 1024);
  const chunks: Chunk[] = [];
  for (let at = 0, i = 0; at < big.length; at += 64 * 1024, i++) {
    chunks.push({ bytes: big.subarray(at, at + 64 * 1024), fds: i === 0 ? [42] : [] });
  }
  const frames = await run([...chunks, { bytes: message(5, 0), fds: [] }]);
  assert.equal(frames.map((f) => [f.header.id, [...f.fds]]), [
    [4, [42]],
    [5, []],
  ]);
  assert.is(frames[0]!.payload.length, 600 * 1024);
});

test('a frame above the size limit is fatal and closes the fds held', async () => {
  const { op, closed } = setup(64);
  const input = new Subject<Chunk>();
  const result = firstValueFrom(input.pipe(op, toArray())).catch((e: unknown) => e);
  const big = message(1, 100);
  input.next({ bytes: message(9, 4).subarray(0, 10), fds: [3] });
  input.next({ bytes: Buffer.concat([message(9, 4).subarray(10), big.subarray(0, 20)]), fds: [4] });
  const err = await result;
  assert.instance(err, ProtocolError);
  assert.is((err as ProtocolError).field, 'msg_size');
  assert.equal(closed.sort(), [3, 4]);
});

test('bad type bits are fatal', async () => {
  const bad = encodeHeader({ id: 1, command: 1, size: 16, flags: 0x3, error: 0 });
  const err = await run([{ bytes: bad, fds: [] }]).catch((e: unknown) => e);
  assert.instance(err, ProtocolError);
  assert.is((err as ProtocolError).field, 'flags');
});

test('msg_size below 16 is fatal', async () => {
  const bad = encodeHeader({ id: 1, command: 1, size: 8, flags: 0, error: 0 });
  const err = await run([{ bytes: bad, fds: [5] }]).catch((e: unknown) => e);
  assert.instance(err, ProtocolError);
  assert.is((err as ProtocolError).field, 'msg_size');
});

test('the stream ending inside a message is an error, and its fds are closed', async () => {
  const { op, closed } = setup();
  const err = await lastValueFrom(of<Chunk>({ bytes: message(1, 10).subarray(0, 12), fds: [8] }).pipe(op)).catch((e: unknown) => e);
  assert.instance(err, ProtocolError);
  assert.equal(closed, [8]);
});

test('unsubscribing closes fds of an incomplete message', () => {
  const { op, closed } = setup();
  const input = new Subject<Chunk>();
  const got: Frame[] = [];
  const sub = input.pipe(op).subscribe((f) => got.push(f));
  input.next({ bytes: message(1, 10).subarray(0, 20), fds: [21, 22] });
  sub.unsubscribe();
  assert.is(got.length, 0);
  assert.equal(closed, [21, 22]);
});

test('byte-at-a-time delivery yields the same frames', async () => {
  const all = Buffer.concat([message(1, 3), message(2, 17), message(3, 0)]);
  const chunks = [...all].map((b) => ({ bytes: Buffer.of(b), fds: [] as number[] }));
  const frames = await run(chunks);
  assert.equal(frames.map((f) => f.header.id), [1, 2, 3]);
  assert.ok(frames[1]!.payload.equals(Buffer.alloc(17, 2)));
});

test.run();
