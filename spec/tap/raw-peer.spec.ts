// The tap between raw-socket peers written as a C program writes them (whole messages in one
// sendmsg, several back to back, fds on the message that carries them) and the project's server,
// and what it does with a frame it cannot pass on faithfully.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openDevice } from '../../src/client/index.js';
import { native, type Channel } from '../../src/native/index.js';
import * as p from '../../src/protocol/index.js';
import { dmaEngineDevice } from '../../src/samples/index.js';
import { relay$, tap$, type TapEvent, type TapListening } from '../../src/tap/index.js';
import { tapped, until } from './fixtures.js';

/** A whole message as bytes: header and payload. */
const message = (id: number, command: number, flags: number, payload: Buffer = Buffer.alloc(0), error = 0): Buffer => {
  const h = p.encodeHeader({ id, command, size: 16 + payload.length, flags, error });
  return Buffer.concat([h, payload]);
};

/** A raw peer: every byte and fd it receives, and whether the other end closed. */
const rawPeer = (channel: Channel) => {
  const got: { bytes: Buffer; fds: number[]; ended: boolean } = { bytes: Buffer.alloc(0), fds: [], ended: false };
  channel.start({
    data: (bytes, fds) => {
      got.bytes = Buffer.concat([got.bytes, bytes]);
      got.fds.push(...fds);
    },
    end: () => (got.ended = true),
    error: () => (got.ended = true),
  });
  return got;
};

const version = p.encodeVersionRequest({ major: 0, minor: 0, json: p.capabilitiesJson({ max_msg_fds: 8 }) });

const test = suite('tap with raw-socket peers');

test('passes on back-to-back messages and a memfd from a raw client, and the replies byte for byte', async () => {
  const t = await tapped(dmaEngineDevice());
  try {
    const ch = native.connect(t.tapPath);
    const got = rawPeer(ch);
    // VERSION and DEVICE_GET_INFO in one sendmsg, as a pipelining C client may write them.
    ch.send([message(1, p.Command.VERSION, 0, version), message(2, p.Command.DEVICE_GET_INFO, 0, p.encodeDeviceInfoRequest())]);
    await until(() => got.bytes.length >= 2 * 16, 'two replies');
    const memfd = native.memfd('raw-peer-ram', 0x4000);
    ch.send([message(3, p.Command.DMA_MAP, 0, p.encodeDmaMapRequest({ flags: 3, offset: 0, address: 0x10000, size: 0x4000 }))], [memfd]);
    native.close(memfd);
    const replies = (): { header: p.Header; payload: Buffer }[] => {
      const out: { header: p.Header; payload: Buffer }[] = [];
      for (let at = 0; at + 16 <= got.bytes.length; ) {
        const header = p.decodeHeader(got.bytes, at);
        if (at + header.size > got.bytes.length) break;
        out.push({ header, payload: got.bytes.subarray(at + 16, at + header.size) });
        at += header.size;
      }
      return out;
    };
    await until(() => replies().length === 3, 'three replies');
    const map = t.serverKeys.find((k) => k.includes('DMA_MAP') && k.startsWith('out command'))!;
    assert.match(map, / 48 0 0 1 memfd:raw-peer-ram\/0x4000 /, 'the server got the DMA_MAP with its memfd (size 0x30)');
    assert.equal(replies().map(({ header: h }) => [h.id, p.commandName(h.command), h.flags, h.error]), [
      [1, 'VERSION', 1, 0],
      [2, 'DEVICE_GET_INFO', 1, 0],
      [3, 'DMA_MAP', 1, 0],
    ]);
    assert.equal(got.fds, [], 'no twin socket was offered (the client proposed none)');
    // What the server sent is what the raw client received, byte for byte.
    const received = replies().map(({ header: h, payload }) => ['in', 'reply', h.id, p.commandName(h.command), h.size, h.flags, h.error, 0, '', payload.toString('hex')].join(' '));
    assert.equal(received, t.serverKeys.filter((k) => k.startsWith('in ')));
    ch.close();
    const closed = await t.closed();
    assert.is(closed.by, 'client');
  } finally {
    t.close();
  }
});

test('a corrupt frame from the client closes both sides with a clear message, and the next client is served', async () => {
  const t = await tapped(dmaEngineDevice());
  try {
    const ch = native.connect(t.tapPath);
    const got = rawPeer(ch);
    ch.send([message(1, p.Command.VERSION, 0, version)]);
    await until(() => got.bytes.length > 0, 'the VERSION reply');
    // msg_size 4: below the header's own size, so nothing after it can be framed.
    const bad = message(2, p.Command.DEVICE_GET_INFO, 0);
    bad.writeUInt32LE(4, 4);
    ch.send([bad]);
    const closed = await t.closed();
    assert.equal([closed.by, closed.corrupt], ['client', true]);
    assert.match(closed.reason, /^the client sent a corrupt frame \(.*msg_size 4 < 16\): the tap cannot pass it on faithfully, so it closed both sides$/);
    await until(() => got.ended, 'the client to be closed');
    await until(() => t.serverEvents.some((e) => e.kind === 'disconnected'), 'the server to be closed');
    assert.ok(!t.serverKeys.some((k) => k.includes('DEVICE_GET_INFO')), 'the corrupt frame never reached the server');
    const dev = await openDevice({ socketPath: t.tapPath });
    assert.is(dev.config.vendorId, 0x1af4);
    await dev.close();
  } finally {
    t.close();
  }
});

test('a corrupt frame from the server closes both sides with a clear message', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vfio-user-tap-raw-'));
  const serverPath = path.join(dir, 'server.sock');
  const tapPath = path.join(dir, 'tap.sock');
  const listener = native.listen(serverPath, 0o600);
  const server: { channel?: Channel; got?: ReturnType<typeof rawPeer> } = {};
  listener.start((c) => {
    server.channel = c;
    server.got = rawPeer(c);
  }, () => undefined);
  const events: (TapEvent | TapListening)[] = [];
  const sub = tap$({ listen: { socketPath: tapPath }, connect: serverPath }).subscribe((e) => events.push(e));
  try {
    await until(() => events.some((e) => e.kind === 'listening'), 'the tap to listen');
    const client = native.connect(tapPath);
    const got = rawPeer(client);
    client.send([message(1, p.Command.VERSION, 0, version)]);
    await until(() => (server.got?.bytes.length ?? 0) >= 16, 'the server to get VERSION');
    // A reply whose type bits are 3: no peer can frame it.
    server.channel!.send([message(1, p.Command.VERSION, 3, version)]);
    await until(() => events.some((e) => e.kind === 'closed'), 'the tap to close');
    const closed = events.find((e): e is Extract<TapEvent, { kind: 'closed' }> => e.kind === 'closed')!;
    assert.equal([closed.by, closed.corrupt], ['server', true]);
    assert.match(closed.reason, /^the server sent a corrupt frame \(VERSION: unknown message type 3\)/);
    await until(() => got.ended && server.got!.ended, 'both sides to be closed');
    assert.is(got.bytes.length, 0, 'nothing of the corrupt frame reached the client');
    client.close();
  } finally {
    sub.unsubscribe();
    server.channel?.close();
    listener.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a server that cannot be reached closes the client with the reason', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vfio-user-tap-raw-'));
  const tapPath = path.join(dir, 'tap.sock');
  const events: (TapEvent | TapListening)[] = [];
  const sub = tap$({ listen: { socketPath: tapPath }, connect: path.join(dir, 'nobody.sock') }).subscribe((e) => events.push(e));
  try {
    await until(() => events.some((e) => e.kind === 'listening'), 'the tap to listen');
    const got = rawPeer(native.connect(tapPath));
    await until(() => got.ended, 'the client to be closed');
    const closed = events.find((e): e is Extract<TapEvent, { kind: 'closed' }> => e.kind === 'closed')!;
    assert.match(closed.reason, /cannot connect to the server at .*nobody\.sock: ENOENT; the tap closed the client/);
  } finally {
    sub.unsubscribe();
    rmSync(dir, { recursive: true, force: true });
  }
});


test('a twin socket the tap cannot relay (no fds left) closes both sides, says why, and leaks no fd', async () => {
  const before = native.openFdCount();
  const [clientEnd, clientPeer] = native.socketpair();
  const [serverEnd, serverPeer] = native.socketpair();
  const exhausted = { ...native, socketpair: (): [number, number] => { throw new p.NativeError('socketpair', 24); } };
  const events: TapEvent[] = [];
  const client = native.channelFromFd(clientPeer);
  const server = native.channelFromFd(serverPeer);
  const clientGot = rawPeer(client);
  const serverGot = rawPeer(server);
  const sub = relay$(native.channelFromFd(clientEnd), native.channelFromFd(serverEnd), { native: exhausted }).subscribe((e) => events.push(e));
  try {
    client.send([message(1, p.Command.VERSION, 0, version)]);
    await until(() => serverGot.bytes.length >= 16, 'the server to get VERSION');
    const [twinA, twinB] = native.socketpair();
    server.send([message(1, p.Command.VERSION, 1, version)], [twinA]);
    native.close(twinA);
    await until(() => events.some((e) => e.kind === 'closed'), 'the tap to close');
    const closed = events.find((e): e is Extract<TapEvent, { kind: 'closed' }> => e.kind === 'closed')!;
    assert.is(closed.by, 'tap');
    assert.match(closed.reason, /^cannot relay the twin socket: socketpair: EMFILE: the tap cannot pass the VERSION reply on faithfully, so it closed both sides$/);
    await until(() => clientGot.ended && serverGot.ended, 'both sides to be closed');
    assert.is(clientGot.bytes.length, 0, 'the reply was not passed on without its twin socket');
    native.close(twinB);
  } finally {
    sub.unsubscribe();
    client.close();
    server.close();
  }
  assert.is(native.openFdCount(), before, 'every fd closed');
});

test.run();
