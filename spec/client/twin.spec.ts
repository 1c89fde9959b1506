import { firstValueFrom, lastValueFrom, type Observable } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { guestMemory, realizeOn$ } from '../../src/client/index.js';
import { native } from '../../src/native/index.js';
import * as p from '../../src/protocol/index.js';
import { connection } from '../../src/wire/connection.js';
import type { Frame } from '../../src/protocol/frame.js';
import { commandFrame, joinPayload } from '../../src/wire/mock.js';
import type { Answer } from './fixtures/fake-device.js';
import { mockPeer } from './fixtures/peers.js';

const { Command, MessageType } = p;
const done = (o: Observable<unknown>) => lastValueFrom(o, { defaultValue: undefined });
const closeFd = (fd: number) => native.close(fd);

/** A VERSION answer that enables the twin socket, its client end at `index` among `extra` other fds. */
const twinVersion = (clientEnd: number, index: number, extra: number[]) => (f: Frame): Answer => {
  if (f.header.command !== Command.VERSION) return 'default';
  const fds = [...extra];
  fds.splice(index, 0, clientEnd);
  const json = { capabilities: { max_msg_fds: 8, twin_socket: { supported: true, fd_index: index } } };
  return { payload: p.encodeVersionReply({ major: 0, minor: 2, json }), fds };
};

test('with the twin socket enabled, the server\'s DMA requests are served on it', async () => {
  const [serverEnd, clientEnd] = native.socketpair();
  const twin = connection(native.channelFromFd(serverEnd), { closeFd });
  const memory = guestMemory();
  const ram = memory.add({ iova: 0x4000, size: 0x1000 });
  const peer = mockPeer({ override: twinVersion(clientEnd, 0, []) });
  const dev = await firstValueFrom(realizeOn$(peer.conn, { memory }));
  assert.ok(dev.twinSocket);

  const reply = firstValueFrom(twin.frames$);
  twin.send({ id: 0x42, command: Command.DMA_WRITE, flags: MessageType.COMMAND, payload: p.encodeDmaWriteRequest({ address: 0x4008, data: Buffer.from('twin') }) });
  const frame = await reply;
  assert.equal([frame.header.id, frame.header.command, frame.header.flags], [0x42, Command.DMA_WRITE, MessageType.REPLY]);
  assert.equal(p.decodeDmaWriteReply(frame.payload), { address: 0x4008, count: 4 });
  assert.is(ram.buffer.toString('utf8', 8, 12), 'twin');
  assert.equal(peer.conn.sent.filter((m) => m.flags & MessageType.REPLY).length, 0, 'nothing answered on the main socket');

  await done(dev.close());
  const ended = await lastValueFrom(twin.frames$).catch((e: unknown) => e);
  assert.instance(ended, p.DisconnectedError, 'closing the device closes the twin socket');
  twin.close();
  memory.close();
});

test('fd_index picks the twin among several fds; the others are closed', async () => {
  const [serverEnd, clientEnd] = native.socketpair();
  const stray = native.eventfd();
  const peer = mockPeer({ override: twinVersion(clientEnd, 1, [stray]) });
  const dev = await firstValueFrom(realizeOn$(peer.conn));
  assert.ok(dev.twinSocket);
  assert.throws(() => native.fileSize(stray), /EBADF/);
  await done(dev.close());
  native.close(serverEnd);
});

test('a server that closes the twin socket ends the device with that cause', async () => {
  const [serverEnd, clientEnd] = native.socketpair();
  const peer = mockPeer({ override: twinVersion(clientEnd, 0, []) });
  const dev = await firstValueFrom(realizeOn$(peer.conn));
  const closed = firstValueFrom(dev.closed$);
  native.close(serverEnd);
  const cause = await closed;
  assert.instance(cause, p.DisconnectedError);
  assert.ok(peer.conn.closed, 'the main socket is closed too');
  await done(dev.close());
});

test('without twin_socket in the reply the main socket carries the server\'s requests', async () => {
  const memory = guestMemory();
  memory.add({ iova: 0, size: 0x1000 }).buffer.write('main');
  const peer = mockPeer();
  const dev = await firstValueFrom(realizeOn$(peer.conn, { memory }));
  assert.not.ok(dev.twinSocket);
  peer.command(commandFrame(3, Command.DMA_READ, p.encodeDmaReadRequest({ address: 0, count: 4 }) as Buffer<ArrayBuffer>));
  const reply = await peer.nextReply();
  assert.is(p.decodeDmaReadReply(joinPayload(reply.payload)).data!.toString(), 'main');
  await done(dev.close());
  memory.close();
});

test.run();
