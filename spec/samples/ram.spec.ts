// The RAM sample: a memfd-backed BAR with a trapped register page and a sparse mmap area.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestScheduler } from 'rxjs/testing';
import { native } from '../../src/native/index.js';
import { Command, RegionFlags } from '../../src/protocol/constants.js';
import { encodeDmaMapRequest } from '../../src/protocol/dma.js';
import { decodeRegionReadReply, encodeRegionReadRequest, encodeRegionWriteRequest } from '../../src/protocol/region-access.js';
import { decodeRegionInfoReply, encodeRegionInfoRequest } from '../../src/protocol/region-info.js';
import { serve, testBed } from '../../src/server/index.js';
import { RAM_MAGIC, RamReg, ramDevice } from '../../src/samples/index.js';
import { connectClient, until } from '../server/socket-client.js';
import { migrateBeds } from './migrate.js';
import { fdsOpenedSince, openFds } from '../fixtures/fds.js';

const scheduler = () => new TestScheduler((actual, expected) => assert.equal(actual, expected));
const BAR = 2;
const SIZE = 64 * 1024;
const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};
const read = (b: Buffer) => ({ kind: 'reply', command: 'REGION_READ', data: b.toString('hex') });
const ok = (command: string) => ({ kind: 'reply', command });

test('registers: MAGIC and SIZE read-only, SCRATCH read-write, FILL fills, CHECKSUM sums the mappable area', () => {
  scheduler().run(({ hot, expectObservable }) => {
    const bed = testBed(ramDevice());
    const { req } = bed;
    const input = hot('-a-b-c-d-e-f-g', {
      a: req.regionRead(BAR, RamReg.MAGIC, 8),
      b: req.regionWrite(BAR, RamReg.MAGIC, u32(0)),
      c: req.regionWrite(BAR, RamReg.SCRATCH, u32(0x12345678)),
      d: req.regionRead(BAR, RamReg.MAGIC, 12),
      e: req.regionWrite(BAR, RamReg.FILL, u32(2)),
      f: req.regionRead(BAR, RamReg.CHECKSUM, 4),
      g: req.regionRead(BAR, SIZE - 4, 4),
    });
    const regs = (scratch: number) => Buffer.concat([u32(RAM_MAGIC), u32(SIZE - 4096), u32(scratch)]);
    expectObservable(bed.run(input)).toBe('-a-b-c-d-e-f-g', {
      a: read(regs(0).subarray(0, 8)),
      b: ok('REGION_WRITE'),
      c: ok('REGION_WRITE'),
      d: read(regs(0x12345678)),
      e: ok('REGION_WRITE'),
      f: read(u32(2 * (SIZE - 4096))),
      g: read(Buffer.alloc(4, 2)),
    });
  });
});

test('GET_REGION_INFO offers the memfd with one sparse area after the register page', async () => {
  const bed = testBed(ramDevice());
  const session = bed.open();
  const reply = await session.send(bed.req.regionInfo(BAR, 64));
  const info = decodeRegionInfoReply(reply.payload);
  assert.is(info.flags, RegionFlags.READ | RegionFlags.WRITE | RegionFlags.MMAP | RegionFlags.CAPS);
  assert.equal(info.caps, [{ kind: 'sparse_mmap', areas: [{ offset: 4096, size: SIZE - 4096 }] }]);
  assert.is(reply.fds.length, 1);
  assert.is(bed.io.fileSize(reply.fds[0]!), SIZE);
  session.stop();
});

test('the mappable area is reachable by message too; an access straddling its start is EINVAL', async () => {
  const bed = testBed(ramDevice());
  const session = bed.open();
  await session.send(bed.req.regionWrite(BAR, 0x2000, Buffer.from('by message')));
  const r = decodeRegionReadReply((await session.send(bed.req.regionRead(BAR, 0x2000, 10))).payload);
  assert.is(r.data?.toString(), 'by message');
  const bad = await session.send(bed.req.regionRead(BAR, 4092, 8));
  assert.is(bad.header.error, 22);
  session.stop();
});

test('DEVICE_RESET zeroes the memory; a disconnect keeps it', async () => {
  const device = ramDevice();
  const bed = testBed(device);
  const session = bed.open();
  await session.send(bed.req.regionWrite(BAR, RamReg.FILL, u32(7)));
  await session.send(bed.req.reset());
  const sum = decodeRegionReadReply((await session.send(bed.req.regionRead(BAR, RamReg.CHECKSUM, 4))).payload);
  assert.is(sum.data?.readUInt32LE(0), 0);
  await session.send(bed.req.regionWrite(BAR, RamReg.FILL, u32(1)));
  const memfd = (await session.send(bed.req.regionInfo(BAR, 64))).fds[0]!;
  session.hangUp();
  assert.ok(bed.io.map(memfd, 4096, SIZE - 4096, 'r').bytes.equals(Buffer.alloc(SIZE - 4096, 1)));
  session.stop();
});

test('migrates its memory (the framework carries RAM-backed regions) and its scratch register', async () => {
  const a = testBed(ramDevice());
  const sa = a.open();
  await sa.send(a.req.regionWrite(BAR, RamReg.FILL, u32(0x5a)));
  await sa.send(a.req.regionWrite(BAR, RamReg.SCRATCH, u32(0x1234)));
  const sum = decodeRegionReadReply((await sa.send(a.req.regionRead(BAR, RamReg.CHECKSUM, 4))).payload).data!.readUInt32LE(0);
  const b = testBed(ramDevice());
  const sb = b.open();
  await migrateBeds({ bed: a, session: sa }, { bed: b, session: sb });
  const read32 = async (offset: number) => decodeRegionReadReply((await sb.send(b.req.regionRead(BAR, offset, 4))).payload).data!.readUInt32LE(0);
  assert.is(await read32(RamReg.CHECKSUM), sum);
  assert.is(await read32(RamReg.SCRATCH), 0x1234);
  sa.stop();
  sb.stop();
});

for (const mode of ['fd', 'message'] as const) {
  test(`over a socket (DMA_MAP ${mode === 'fd' ? 'with a memfd' : 'without fd'}): the client mmaps the sparse area and shares it with the device`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vfu-ram-'));
    const path = join(dir, 'sock');
    const fds = openFds();
    const sub = serve(ramDevice(), { socketPath: path }).subscribe();
    const client = await connectClient(path);
    const guest = mode === 'fd' ? native.memfd('guest', 0x10000) : undefined;
    await client.request(Command.DMA_MAP, encodeDmaMapRequest({ flags: 3, offset: 0, address: 0, size: 0x10000 }), guest === undefined ? [] : [guest]);
    if (guest !== undefined) native.close(guest);
    const info = await client.request(Command.DEVICE_GET_REGION_INFO, encodeRegionInfoRequest({ index: BAR, argsz: 64 }));
    const region = decodeRegionInfoReply(info.payload);
    const fd = info.fds[0]!;
    const cap = region.caps[0];
    if (cap?.kind !== 'sparse_mmap') return assert.unreachable('no sparse area');
    const area = cap.areas[0]!;
    const mapping = native.mmap(fd, region.offset + area.offset, area.size, 'rw');
    native.close(fd);
    const shared = Buffer.from(mapping);
    await client.request(Command.REGION_WRITE, encodeRegionWriteRequest({ offset: RamReg.FILL, region: BAR, data: u32(3) }));
    assert.ok(shared.equals(Buffer.alloc(area.size, 3)), 'the device fill is visible through the mmap');
    shared.fill(0);
    shared[100] = 200;
    const sum = await client.request(Command.REGION_READ, encodeRegionReadRequest({ offset: RamReg.CHECKSUM, region: BAR, count: 4 }));
    assert.is(decodeRegionReadReply(sum.payload).data?.readUInt32LE(0), 200, 'the client\'s mmap writes are the device\'s memory');
    native.munmap(mapping);
    client.close();
    sub.unsubscribe();
    await until(() => fdsOpenedSince(fds).length === 0);
    rmSync(dir, { recursive: true, force: true });
  });
}

test.run();
