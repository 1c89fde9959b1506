import { firstValueFrom, lastValueFrom, type Observable } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { promiseDevice, realizeOn$, type ClientOptions } from '../../src/client/index.js';
import * as p from '../../src/protocol/index.js';
import { defaultRegions, memfdRegion, type FakeSpec } from './fixtures/fake-device.js';
import { mockPeer } from './fixtures/peers.js';

const { Command, RegionFlags } = p;
const done = (o: Observable<unknown>) => lastValueFrom(o, { defaultValue: undefined });
const bigBar = (size: number): FakeSpec['regions'] => {
  const regions = defaultRegions();
  regions[0] = { info: { index: 0, size, flags: RegionFlags.READ | RegionFlags.WRITE, offset: 0 } };
  return regions;
};
const open = async (spec: FakeSpec = {}, options: ClientOptions = {}) => {
  const peer = mockPeer(spec);
  const dev = await firstValueFrom(realizeOn$(peer.conn, options));
  peer.device.received.length = 0;
  return { peer, dev };
};
const pattern = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff));
const reads = (peer: ReturnType<typeof mockPeer>) => peer.device.of(Command.REGION_READ).map((f) => p.decodeRegionReadRequest(f.payload));
const writes = (peer: ReturnType<typeof mockPeer>) =>
  peer.device.of(Command.REGION_WRITE).map((f) => ({ ...p.decodeRegionWriteRequest(f.payload), posted: p.isNoReply(f.header), body: f.payload.length }));

test('a read of exactly max_data_xfer_size is one REGION_READ', async () => {
  const { peer, dev } = await open({ caps: { max_data_xfer_size: 1024 }, regions: bigBar(4096) });
  pattern(4096).copy(peer.device.data[0]!);
  const got = await firstValueFrom(dev.region(0).read(0, 1024));
  assert.equal(reads(peer).map((r) => [r.offset, r.count]), [[0, 1024]]);
  assert.ok(got.equals(pattern(4096).subarray(0, 1024)));
  await done(dev.close());
});

test('a read one byte above max_data_xfer_size is two REGION_READs, reassembled in order', async () => {
  const { peer, dev } = await open({ caps: { max_data_xfer_size: 1024 }, regions: bigBar(4096) });
  pattern(4096).copy(peer.device.data[0]!);
  const got = await firstValueFrom(dev.region(0).read(100, 1025));
  assert.equal(reads(peer).map((r) => [r.offset, r.count]), [[100, 1024], [1124, 1]]);
  assert.ok(got.equals(pattern(4096).subarray(100, 1125)));
  await done(dev.close());
});

test('a write of exactly max_data_xfer_size is one REGION_WRITE; one byte more is two', async () => {
  const { peer, dev } = await open({ caps: { max_data_xfer_size: 1024 }, regions: bigBar(4096) });
  await done(dev.region(0).write(0, pattern(1024), { posted: false }));
  assert.equal(writes(peer).map((w) => [w.offset, w.count]), [[0, 1024]]);
  peer.device.received.length = 0;
  await done(dev.region(0).write(8, pattern(1025), { posted: false }));
  assert.equal(writes(peer).map((w) => [w.offset, w.count]), [[8, 1024], [1032, 1]]);
  assert.ok(peer.device.data[0]!.subarray(8, 1033).equals(pattern(1025)));
  await done(dev.close());
});

test('request bodies stay within maxRequestBody even when the server allows more', async () => {
  const { peer, dev } = await open({ regions: bigBar(8192) }, { maxRequestBody: 1024 });
  await done(dev.region(0).write(0, pattern(1008), { posted: false }));
  assert.equal(writes(peer).map((w) => w.body), [1024]);
  peer.device.received.length = 0;
  await done(dev.region(0).write(0, pattern(1009), { posted: false }));
  assert.equal(writes(peer).map((w) => [w.count, w.body]), [[1008, 1024], [1, 17]]);
  await done(dev.close());
});

test('the default body bound is 128 KiB although the server accepts 1 MiB', async () => {
  const { peer, dev } = await open({ regions: bigBar(0x40000) });
  await done(dev.region(0).write(0, pattern((128 << 10) - 16 + 1), { posted: false }));
  assert.equal(writes(peer).map((w) => w.body), [128 << 10, 17]);
  await done(dev.close());
});

test('BAR writes are posted by default; config space writes never are', async () => {
  const { peer, dev } = await open();
  assert.ok(dev.postedWrites);
  await done(dev.region(0).write(0, Buffer.of(1, 2, 3, 4)));
  await done(dev.region(7).write(0x3c, Buffer.of(9), { posted: true }));
  await done(dev.region(0).write(4, Buffer.of(5), { posted: false }));
  assert.equal(writes(peer).map((w) => [w.region, w.posted]), [[0, true], [7, false], [0, false]]);
  await done(dev.close());
});

test('the postedWrites option switches posting off', async () => {
  const { peer, dev } = await open({}, { postedWrites: false });
  assert.not.ok(dev.postedWrites);
  await done(dev.region(0).write(0, Buffer.of(1)));
  assert.equal(writes(peer).map((w) => w.posted), [false]);
  await done(dev.close());
});

test('fence() sends a cheap request after the posted writes and completes on its reply', async () => {
  const { peer, dev } = await open();
  await done(dev.region(0).write(0, Buffer.of(1)));
  await done(dev.region(0).write(1, Buffer.of(2)));
  assert.is(peer.device.data[0]![1], 2, 'the fake server processed them in order');
  await done(dev.fence());
  assert.equal(peer.device.commands(), ['REGION_WRITE', 'REGION_WRITE', 'DEVICE_GET_INFO']);
  await done(dev.close());
});

test('accesses inside a mapped area use the mapping and send nothing, by Observable or promise', async () => {
  const bar = memfdRegion(0x1000, 0x5a);
  const regions = defaultRegions();
  regions[0] = { info: { index: 0, size: 0x1000, flags: RegionFlags.READ | RegionFlags.WRITE | RegionFlags.MMAP, offset: 0 }, fd: bar.make };
  const { peer, dev } = await open({ regions });
  assert.equal([...(await firstValueFrom(dev.region(0).read(0x10, 2)))], [0x5a, 0x5a]);
  await done(dev.region(0).write(0x20, Buffer.of(1, 2)));
  assert.equal([...(await firstValueFrom(dev.region(0).read(0x20, 2)))], [1, 2]);
  // The Promise facade's too.
  await promiseDevice(dev).region(0).write(0x30, Buffer.of(3, 4));
  assert.equal([...(await promiseDevice(dev).region(0).read(0x2f, 3))], [0x5a, 3, 4]);
  assert.equal(peer.device.received, []);
  await done(dev.close());
  bar.close();
});

test('a server that shrinks a mapped BAR\'s memfd cannot crash the client: the access falls back to messages', async () => {
  const bar = memfdRegion(0x2000, 0x5a);
  const regions = defaultRegions();
  regions[0] = { info: { index: 0, size: 0x2000, flags: RegionFlags.READ | RegionFlags.WRITE | RegionFlags.MMAP, offset: 0 }, fd: bar.make };
  const { peer, dev } = await open({ regions });
  assert.equal([...(await promiseDevice(dev).region(0).read(0x1800, 2))], [0x5a, 0x5a], 'mapped while the file is whole');
  assert.equal(peer.device.received, []);
  bar.truncate(0x1000);
  // Past the new end: the mapping faults (no SIGBUS death), the read goes by REGION_READ instead.
  const expected = [...peer.device.data[0]!.subarray(0x1800, 0x1802)];
  assert.equal([...(await promiseDevice(dev).region(0).read(0x1800, 2))], expected);
  assert.equal(reads(peer), [{ offset: 0x1800, region: 0, count: 2 }]);
  // The area is given up: the rest of the region goes by message too, writes included.
  await promiseDevice(dev).region(0).read(0x10, 4);
  await promiseDevice(dev).region(0).write(0x1900, Buffer.of(1, 2), { posted: false });
  assert.equal(reads(peer).length, 2);
  assert.equal(writes(peer).map((w) => [w.offset, w.count]), [[0x1900, 2]]);
  await done(dev.close());
  bar.close();
});

test('writes to a read-only mapped region go by message (and wait: a mappable device posts nothing)', async () => {
  const bar = memfdRegion(0x1000, 0);
  const regions = defaultRegions();
  regions[0] = { info: { index: 0, size: 0x1000, flags: RegionFlags.READ | RegionFlags.MMAP, offset: 0 }, fd: bar.make };
  const { peer, dev } = await open({ regions });
  assert.not.ok(dev.region(0).areas[0]!.writable);
  const err = await done(dev.region(0).write(0, Buffer.of(1))).catch((e: unknown) => e);
  assert.equal(writes(peer).map((w) => w.posted), [false]);
  assert.is(err, undefined);
  await done(dev.close());
  bar.close();
});

test('a malformed reply fails that request only', async () => {
  const { peer, dev } = await open({
    override: (f) => {
      if (f.header.command !== Command.REGION_READ) return 'default';
      return p.decodeRegionReadRequest(f.payload).offset === 0x40 ? { payload: Buffer.alloc(5) } : 'default';
    },
  });
  const err = await firstValueFrom(dev.region(0).read(0x40, 4)).catch((e: unknown) => e);
  assert.instance(err, p.MalformedMessageError);
  assert.is((err as p.MalformedMessageError).command, 'REGION_READ');
  assert.is((await firstValueFrom(dev.region(0).read(0x44, 4))).length, 4);
  assert.not.ok(peer.conn.closed);
  await done(dev.close());
});

test('a short read is a malformed reply', async () => {
  const { dev } = await open({
    override: (f) => {
      if (f.header.command !== Command.REGION_READ) return 'default';
      const r = p.decodeRegionReadRequest(f.payload);
      if (r.region !== 0) return 'default';
      return { payload: p.encodeRegionReadReply({ offset: r.offset, region: r.region, data: Buffer.alloc(r.count - 1) }) };
    },
  });
  const err = await firstValueFrom(dev.region(0).read(0, 8)).catch((e: unknown) => e);
  assert.instance(err, p.MalformedMessageError);
  assert.match((err as Error).message, /short read: 7 of 8/);
  await done(dev.close());
});

test('an error reply gives RemoteError with the errno name and command', async () => {
  const { dev } = await open({
    override: (f) => (f.header.command === Command.REGION_WRITE ? { errno: p.Errno.EIO } : 'default'),
  });
  const err = await done(dev.region(0).write(0, Buffer.of(1), { posted: false })).catch((e: unknown) => e);
  assert.instance(err, p.RemoteError);
  assert.is((err as p.RemoteError).errnoName, 'EIO');
  assert.is((err as p.RemoteError).command, 'REGION_WRITE');
  await done(dev.close());
});

test('an access outside the region is refused locally with RangeError', async () => {
  const { peer, dev } = await open();
  const err = await firstValueFrom(dev.region(1).read(0xff, 2)).catch((e: unknown) => e);
  assert.instance(err, RangeError);
  assert.throws(() => dev.region(9), (e: unknown) => e instanceof RangeError);
  assert.equal(peer.device.received, []);
  await done(dev.close());
});

// The Promise facade's read and write (the request primitive with a promise as its sink): same messages, same errors.
test('the facade\'s read and write send what read and write send, in pieces above max_data_xfer_size', async () => {
  const { peer, dev } = await open({ caps: { max_data_xfer_size: 1024 }, regions: bigBar(4096) });
  pattern(4096).copy(peer.device.data[0]!);
  const r = promiseDevice(dev).region(0);
  assert.ok((await r.read(0, 4)).equals(pattern(4)));
  assert.ok((await r.read(100, 1025)).equals(pattern(4096).subarray(100, 1125)));
  assert.equal(reads(peer).map((x) => [x.offset, x.count]), [[0, 4], [100, 1024], [1124, 1]]);
  await r.write(0, pattern(8), { posted: false });
  await r.write(8, pattern(1025), { posted: false });
  await r.write(2000, Buffer.of(7));
  await done(dev.fence());
  assert.equal(writes(peer).map((w) => [w.offset, w.count, w.posted]), [[0, 8, false], [8, 1024, false], [1032, 1, false], [2000, 1, true]]);
  assert.is(peer.device.data[0]![2000], 7);
  await done(dev.close());
});

test('the facade\'s read and write reject with the typed error of the request, or RangeError locally', async () => {
  const { peer, dev } = await open({
    override: (f) => {
      if (f.header.command === Command.REGION_WRITE) return { errno: p.Errno.EIO };
      if (f.header.command !== Command.REGION_READ) return 'default';
      const r = p.decodeRegionReadRequest(f.payload);
      return r.region === 0 ? { payload: p.encodeRegionReadReply({ offset: r.offset, region: r.region, data: Buffer.alloc(r.count - 1) }) } : 'default';
    },
  });
  const short = await promiseDevice(dev).region(0).read(0, 8).catch((e: unknown) => e);
  assert.instance(short, p.MalformedMessageError);
  assert.match((short as Error).message, /short read: 7 of 8/);
  const remote = await promiseDevice(dev).region(0).write(0, Buffer.of(1), { posted: false }).catch((e: unknown) => e);
  assert.instance(remote, p.RemoteError);
  assert.is((remote as p.RemoteError).errnoName, 'EIO');
  peer.device.received.length = 0;
  const range = await promiseDevice(dev).region(1).read(0xff, 2).catch((e: unknown) => e);
  assert.instance(range, RangeError);
  assert.instance(await promiseDevice(dev).region(1).write(0xff, Buffer.alloc(2)).catch((e: unknown) => e), RangeError);
  assert.equal(peer.device.received, []);
  assert.not.ok(peer.conn.closed);
  await done(dev.close());
});

test.run();
