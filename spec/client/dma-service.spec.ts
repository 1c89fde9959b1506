import { firstValueFrom, lastValueFrom } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { answerDma, guestMemory, mappingTableOf, realizeOn$, type DmaAnswer, type MappingTable } from '../../src/client/index.js';
import { native } from '../../src/native/index.js';
import * as p from '../../src/protocol/index.js';
import { commandFrame as mockCommand, joinPayload } from '../../src/wire/mock.js';
import { mockPeer } from './fixtures/peers.js';

const { Command, DmaMapFlags, Errno } = p;
const commandFrame = (id: number, command: number, payload: Buffer, fds: number[] = []) =>
  mockCommand(id, command, payload as Buffer<ArrayBuffer>, fds);
const MAX = 0x100;
const rw = Buffer.alloc(0x1000, 0x11);
const ro = Buffer.alloc(0x1000, 0x22);
const wo = Buffer.alloc(0x1000, 0x33);
const table: MappingTable = mappingTableOf([
  { sectionId: 1, iova: 0x1000, size: 0x1000, flags: DmaMapFlags.READ | DmaMapFlags.WRITE, buffer: rw, fd: -1, fdOffset: 0 },
  { sectionId: 2, iova: 0x2000, size: 0x1000, flags: DmaMapFlags.READ, buffer: ro, fd: -1, fdOffset: 0 },
  { sectionId: 3, iova: 0x8000, size: 0x1000, flags: DmaMapFlags.WRITE, buffer: wo, fd: -1, fdOffset: 0 },
]);
const read = (address: number, count: number, fds: number[] = []) =>
  answerDma(commandFrame(1, Command.DMA_READ, p.encodeDmaReadRequest({ address, count }), fds), table, MAX);
const write = (address: number, data: Buffer) =>
  answerDma(commandFrame(1, Command.DMA_WRITE, p.encodeDmaWriteRequest({ address, data })), table, MAX);
const errnoOf = (a: DmaAnswer) => (a.kind === 'error' ? p.errnoName(a.errno) : 'reply');
const payloadOf = (a: DmaAnswer): Buffer => (a.kind === 'reply' ? joinPayload(a.payload) : Buffer.alloc(0));

test('DMA_READ inside a mapping answers its bytes', () => {
  const a = read(0x1ff0, 0x10);
  assert.is(a.kind, 'reply');
  const reply = p.decodeDmaReadReply(payloadOf(a), { address: 0x1ff0, count: 0x10 });
  assert.ok(reply.data!.equals(Buffer.alloc(0x10, 0x11)));
});

test('a count equal to our max_data_xfer_size is served; one above is E2BIG', () => {
  assert.is(errnoOf(read(0x1000, MAX)), 'reply');
  assert.is(errnoOf(read(0x1000, MAX + 1)), 'E2BIG');
  assert.is(errnoOf(write(0x1000, Buffer.alloc(MAX + 1))), 'E2BIG');
});

test('outside every mapping, or past the end of one, is EFAULT', () => {
  assert.is(errnoOf(read(0x0, 4)), 'EFAULT');
  assert.is(errnoOf(read(0x1ffc, 4)), 'reply', 'ending exactly at the end is fine');
  assert.is(errnoOf(read(0x1ffd, 4)), 'EFAULT');
  assert.is(errnoOf(read(0x5000, 4)), 'EFAULT');
});

test('a range spanning two adjacent mappings is EFAULT', () => {
  assert.is(errnoOf(read(0x1ff8, 0x10)), 'EFAULT');
});

test('DMA_WRITE to a read-only mapping is EPERM and leaves it untouched', () => {
  assert.is(errnoOf(write(0x2000, Buffer.of(1, 2))), 'EPERM');
  assert.is(ro[0], 0x22);
});

test('DMA_READ from a mapping without READ is EPERM', () => {
  assert.is(errnoOf(read(0x8000, 4)), 'EPERM');
});

test('DMA_WRITE stores the data and echoes the 16-byte address and count', () => {
  const a = write(0x1800, Buffer.of(0xde, 0xad));
  assert.is(a.kind, 'reply');
  const payload = payloadOf(a);
  assert.is(payload.length, 16);
  assert.equal(p.decodeDmaWriteReply(payload, { address: 0x1800, count: 2 }), { address: 0x1800, count: 2 });
  assert.equal([...rw.subarray(0x800, 0x802)], [0xde, 0xad]);
});

test('a request that came with fds is EINVAL', () => {
  assert.is(errnoOf(read(0x1000, 4, [99])), 'EINVAL');
});

test('any other server command is ENOSYS', () => {
  assert.is(errnoOf(answerDma(commandFrame(1, Command.REGION_READ, Buffer.alloc(16)), table, MAX)), 'ENOSYS');
  assert.is(errnoOf(answerDma(commandFrame(1, 99, Buffer.alloc(0)), table, MAX)), 'ENOSYS');
});

test('a malformed DMA request gets its own errno (EINVAL)', () => {
  assert.is(errnoOf(answerDma(commandFrame(1, Command.DMA_READ, Buffer.alloc(8)), table, MAX)), 'EINVAL');
  const bad = p.encodeDmaWriteRequest({ address: 0x1000, data: Buffer.alloc(4) });
  bad.writeBigUInt64LE(8n, 8);
  assert.is(errnoOf(answerDma(commandFrame(1, Command.DMA_WRITE, bad), table, MAX)), 'EINVAL');
});

test('a large DMA_READ is answered with a view of guest memory, not a copy; a small one with a copy', () => {
  const big = Buffer.alloc(0x20000, 0x44);
  const bigTable: MappingTable = mappingTableOf([{ sectionId: 4, iova: 0x100000, size: big.length, flags: DmaMapFlags.READ, buffer: big, fd: -1, fdOffset: 0 }]);
  const ask = (count: number) =>
    answerDma(commandFrame(1, Command.DMA_READ, p.encodeDmaReadRequest({ address: 0x100000, count })), bigTable, 1 << 20);
  const large = ask(0x10000);
  assert.ok(large.kind === 'reply' && !Buffer.isBuffer(large.payload));
  const pieces = (large as { payload: readonly Buffer[] }).payload;
  assert.is(pieces[1]!.buffer, big.buffer, 'the data piece views guest memory');
  assert.ok(p.decodeDmaReadReply(payloadOf(large), { address: 0x100000, count: 0x10000 }).data!.equals(big.subarray(0, 0x10000)));
  const small = ask(0x100);
  assert.ok(small.kind === 'reply' && Buffer.isBuffer(small.payload));
});

test('a realized device serves the server\'s DMA from guest memory, and closes fds sent with it', async () => {
  const memory = guestMemory();
  const ram = memory.add({ iova: 0x10000, size: 0x4000 });
  ram.buffer.fill(0x5a, 0, 0x10);
  const peer = mockPeer();
  const dev = await firstValueFrom(realizeOn$(peer.conn, { memory }));
  const maps = peer.device.of(Command.DMA_MAP).map((f) => ({ ...p.decodeDmaMapRequest(f.payload), fds: f.fds.length }));
  assert.equal(maps, [{ argsz: 32, flags: 3, offset: 0, address: 0x10000, size: 0x4000, fds: 1 }]);

  peer.command(commandFrame(7, Command.DMA_WRITE, p.encodeDmaWriteRequest({ address: 0x10010, data: Buffer.from('dma!') })));
  const w = await peer.nextReply();
  assert.equal([w.id, w.flags & 0x20], [7, 0]);
  assert.is(ram.buffer.toString('utf8', 0x10, 0x14), 'dma!');

  peer.command(commandFrame(8, Command.DMA_READ, p.encodeDmaReadRequest({ address: 0x10000, count: 0x14 })));
  const r = await peer.nextReply();
  assert.equal([...p.decodeDmaReadReply(joinPayload(r.payload)).data!.subarray(0, 2)], [0x5a, 0x5a]);

  const fd = native.eventfd();
  peer.command(commandFrame(9, Command.DMA_READ, p.encodeDmaReadRequest({ address: 0x10000, count: 4 }), [fd]));
  const e = await peer.nextReply();
  assert.equal([e.id, e.error], [9, Errno.EINVAL]);
  assert.throws(() => native.fileSize(fd), /EBADF/);

  await lastValueFrom(dev.close(), { defaultValue: undefined });
  assert.equal(peer.device.commands().slice(-1), ['DMA_UNMAP']);
  memory.close();
});

test('without fds from the server side (max_msg_fds 0), DMA maps go in message mode', async () => {
  const memory = guestMemory();
  memory.add({ iova: 0, size: 0x1000 });
  const peer = mockPeer({ caps: { max_msg_fds: 0 } });
  const dev = await firstValueFrom(realizeOn$(peer.conn, { memory }));
  assert.is(dev.dmaMode, 'message');
  assert.equal(peer.device.of(Command.DMA_MAP).map((f) => f.fds.length), [0]);
  await lastValueFrom(dev.close(), { defaultValue: undefined });
  memory.close();
});

test('dmaMode message never sends fds even to a server that accepts them', async () => {
  const memory = guestMemory();
  memory.add({ iova: 0, size: 0x1000 });
  const peer = mockPeer();
  const dev = await firstValueFrom(realizeOn$(peer.conn, { memory, dmaMode: 'message' }));
  assert.equal(peer.device.of(Command.DMA_MAP).map((f) => f.fds.length), [0]);
  await lastValueFrom(dev.close(), { defaultValue: undefined });
  memory.close();
});

test('memory added after realize is mapped, and removal is unmapped, as transactions', async () => {
  const memory = guestMemory();
  const peer = mockPeer();
  const dev = await firstValueFrom(realizeOn$(peer.conn, { memory }));
  peer.device.received.length = 0;
  const [a] = memory.transaction(() => [memory.add({ iova: 0, size: 0x1000 }), memory.add({ iova: 0x1000, size: 0x1000 })]);
  const commit = await firstValueFrom(dev.dmaSettled());
  assert.equal(commit.ops.map((o) => o.kind), ['map', 'map']);
  memory.remove(a!);
  await firstValueFrom(dev.dmaSettled());
  assert.equal(peer.device.commands(), ['DMA_MAP', 'DMA_MAP', 'DMA_UNMAP']);
  await lastValueFrom(dev.close(), { defaultValue: undefined });
  memory.close();
});

test('a DMA_MAP failure at realize fails realize', async () => {
  const memory = guestMemory();
  memory.add({ iova: 0, size: 0x1000 });
  const peer = mockPeer({ override: (f) => (f.header.command === Command.DMA_MAP ? { errno: Errno.ENOSPC } : 'default') });
  const err = await firstValueFrom(realizeOn$(peer.conn, { memory })).catch((e: unknown) => e);
  assert.instance(err, p.RemoteError);
  assert.is((err as p.RemoteError).command, 'DMA_MAP');
  memory.close();
});

test.run();
