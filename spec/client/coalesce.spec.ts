import { firstValueFrom, lastValueFrom, type Observable } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { coalescing } from '../../src/client/coalesce.js';
import { realizeOn$, type ClientOptions } from '../../src/client/index.js';
import * as p from '../../src/protocol/index.js';
import type { Connection } from '../../src/wire/connection.js';
import { mockPeer } from './fixtures/peers.js';

const { Command } = p;
const done = (o: Observable<unknown>) => lastValueFrom(o, { defaultValue: undefined });

/** A connection whose queued bytes the test sets, to play a socket that backs up. */
const backlogged = (conn: Connection, queued: { bytes: number }): Connection => ({
  frames$: conn.frames$,
  trace$: conn.trace$,
  send: (m) => conn.send(m),
  close: () => conn.close(),
  get queuedBytes() {
    return queued.bytes;
  },
  get closed() {
    return conn.closed;
  },
});

const open = async (caps: Record<string, unknown>, options: ClientOptions = {}) => {
  const peer = mockPeer({ caps });
  const queued = { bytes: 0 };
  const dev = await firstValueFrom(realizeOn$(backlogged(peer.conn, queued), options));
  peer.device.received.length = 0;
  return { peer, dev, queued };
};

test('posted writes become REGION_WRITE_MULTI while the socket backs up, in order before the next request', async () => {
  const { peer, dev, queued } = await open({ write_multiple: true });
  queued.bytes = 1 << 20;
  // one burst: held writes leave at the end of the turn, or before the next other request
  await Promise.all([...Array(5).keys()].map((i) => done(dev.region(0).write(i * 4, Buffer.alloc(4, i + 1)))).concat(done(dev.fence())));
  assert.equal(peer.device.commands(), ['REGION_WRITE_MULTI', 'DEVICE_GET_INFO']);
  const multi = p.decodeWriteMultiRequest(peer.device.of(Command.REGION_WRITE_MULTI)[0]!.payload);
  assert.equal(multi.entries.map((e) => [e.offset, e.region, e.count]), [[0, 0, 4], [4, 0, 4], [8, 0, 4], [12, 0, 4], [16, 0, 4]]);
  assert.ok(p.isNoReply(peer.device.of(Command.REGION_WRITE_MULTI)[0]!.header), 'always No_reply');
  assert.equal([...peer.device.data[0]!.subarray(0, 20)], [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5]);
  await done(dev.close());
});

test('at most 200 entries go in one REGION_WRITE_MULTI', async () => {
  const { peer, dev, queued } = await open({ write_multiple: true });
  queued.bytes = 1 << 20;
  const writes = Array.from({ length: 450 }, (_, i) => done(dev.region(0).write((i * 8) % 0x1000, Buffer.alloc(8, i))));
  await Promise.all(writes);
  await done(dev.fence());
  const counts = peer.device.of(Command.REGION_WRITE_MULTI).map((f) => p.decodeWriteMultiRequest(f.payload).wr_cnt);
  assert.equal(counts, [200, 200, 50]);
  await done(dev.close());
});

test('nothing is coalesced while the socket keeps up', async () => {
  const { peer, dev } = await open({ write_multiple: true });
  await done(dev.region(0).write(0, Buffer.of(1)));
  await done(dev.region(0).write(1, Buffer.of(2)));
  assert.equal(peer.device.commands(), ['REGION_WRITE', 'REGION_WRITE']);
  await done(dev.close());
});

test('nothing is coalesced for a server that did not offer write_multiple, or with the option off', async () => {
  for (const [caps, options] of [[{}, {}], [{ write_multiple: true }, { writeMulti: false }]] as const) {
    const { peer, dev, queued } = await open(caps, options);
    assert.not.ok(dev.writeMulti);
    queued.bytes = 1 << 20;
    await done(dev.region(0).write(0, Buffer.of(1)));
    await done(dev.region(0).write(1, Buffer.of(2)));
    assert.equal(peer.device.commands(), ['REGION_WRITE', 'REGION_WRITE']);
    await done(dev.close());
  }
});

test('writes above 8 bytes and non-posted writes are never coalesced', async () => {
  const { peer, dev, queued } = await open({ write_multiple: true });
  queued.bytes = 1 << 20;
  await done(dev.region(0).write(0, Buffer.alloc(9)));
  await done(dev.region(0).write(16, Buffer.alloc(4), { posted: false }));
  assert.equal(peer.device.commands(), ['REGION_WRITE', 'REGION_WRITE']);
  await done(dev.close());
});

test('closing the wrapper sends the held writes before the socket closes', async () => {
  const peer = mockPeer();
  const queued = { bytes: 1 << 20 };
  const conn = coalescing(backlogged(peer.conn, queued), { enabled: () => true, thresholdBytes: 0 });
  const write = (id: number) => ({ id, command: Command.REGION_WRITE, flags: 0x10, payload: p.encodeRegionWriteRequest({ offset: id, region: 0, data: Buffer.of(id) }) });
  conn.send(write(1));
  conn.send(write(2));
  assert.equal(peer.conn.sent.length, 0, 'held');
  conn.close();
  assert.equal(peer.conn.sent.map((m) => m.command), [Command.REGION_WRITE_MULTI]);
  assert.throws(() => conn.send(write(3)), /closed/);
});

test.run();
