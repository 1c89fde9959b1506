import { firstValueFrom, lastValueFrom } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_REGION_INFO_ARGSZ, realizeOn$ } from '../../src/client/index.js';
import { native } from '../../src/native/index.js';
import * as p from '../../src/protocol/index.js';
import type { Frame } from '../../src/protocol/frame.js';
import { defaultRegions, memfdRegion, type Answer } from './fixtures/fake-device.js';
import { mockPeer } from './fixtures/peers.js';
import { fdsOpenedSince, openFds } from '../fixtures/fds.js';

const { Command, RegionFlags } = p;

test('realizes in QEMU order: VERSION, GET_INFO, every region, every IRQ type, then config space', async () => {
  const peer = mockPeer();
  const dev = await firstValueFrom(realizeOn$(peer.conn));
  assert.equal(peer.device.commands(), [
    'VERSION',
    'DEVICE_GET_INFO',
    ...Array(9).fill('DEVICE_GET_REGION_INFO'),
    ...Array(5).fill('DEVICE_GET_IRQ_INFO'),
    'REGION_READ',
  ]);
  assert.equal(peer.device.of(Command.DEVICE_GET_REGION_INFO).map((f) => p.decodeRegionInfoRequest(f.payload).index), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(peer.device.of(Command.DEVICE_GET_IRQ_INFO).map((f) => p.decodeIrqInfoRequest(f.payload).index), [0, 1, 2, 3, 4]);
  const read = p.decodeRegionReadRequest(peer.device.of(Command.REGION_READ)[0]!.payload);
  assert.equal(read, { offset: 0, region: 7, count: 256 });
  await lastValueFrom(dev.close(), { defaultValue: undefined });
});

test('parses config space: ids, class, header type, BARs and the capability list', async () => {
  const peer = mockPeer();
  const dev = await firstValueFrom(realizeOn$(peer.conn));
  assert.is(dev.config.vendorId, 0x4e58);
  assert.is(dev.config.deviceId, 0x0001);
  assert.is(dev.config.classCode, 0xff0000);
  assert.is(dev.config.headerType, 0);
  assert.is(dev.config.subsystemId, 0x2);
  assert.equal(dev.config.bars.map((b) => [b.index, b.kind]), [[0, 'memory'], [1, 'io'], [2, 'memory'], [3, 'memory'], [4, 'memory'], [5, 'memory']]);
  assert.equal(dev.config.capabilities.map((c) => c.kind), ['msi', 'msix']);
  assert.ok(dev.configBytes.equals(peer.device.data[7]!));
  await lastValueFrom(dev.close(), { defaultValue: undefined });
});

test('offers our limits in VERSION and records the server\'s', async () => {
  const peer = mockPeer({ caps: { max_msg_fds: 4, max_data_xfer_size: 4096, max_dma_maps: 10, pgsizes: 8192, write_multiple: true } });
  const dev = await firstValueFrom(realizeOn$(peer.conn));
  const offer = p.decodeVersionRequest(peer.device.of(Command.VERSION)[0]!.payload);
  assert.is(offer.major, 0);
  assert.is(offer.minor, 2);
  assert.equal(offer.json, {
    capabilities: {
      max_msg_fds: 16,
      max_data_xfer_size: 1 << 20,
      max_dma_maps: 65535,
      pgsizes: 4096,
      twin_socket: { supported: true },
      write_multiple: true,
    },
  });
  assert.is(dev.caps.max_msg_fds, 4);
  assert.is(dev.caps.max_data_xfer_size, 4096);
  assert.is(dev.caps.max_dma_maps, 10);
  assert.is(dev.caps.pgsizes, 8192);
  assert.ok(dev.writeMulti);
  assert.equal(dev.version, { major: 0, minor: 2 });
  await lastValueFrom(dev.close(), { defaultValue: undefined });
});

test('re-queries GET_REGION_INFO with the argsz the server reported and keeps the capabilities', async () => {
  const regions = defaultRegions();
  regions[2] = {
    info: {
      index: 2,
      size: 0x1000,
      flags: RegionFlags.READ | RegionFlags.WRITE,
      offset: 0,
      caps: [{ kind: 'sparse_mmap', areas: [{ offset: 0, size: 0x800 }] }, { kind: 'type', type: 1, subtype: 2 }],
    },
  };
  const peer = mockPeer({ regions });
  const dev = await firstValueFrom(realizeOn$(peer.conn));
  const asked = peer.device.of(Command.DEVICE_GET_REGION_INFO).map((f) => p.decodeRegionInfoRequest(f.payload));
  assert.equal(asked.filter((r) => r.index === 2).map((r) => r.argsz), [32, 32 + 32 + 16]);
  assert.equal(dev.regions[2]!.caps, [
    { kind: 'sparse_mmap', areas: [{ offset: 0, size: 0x800 }] },
    { kind: 'type', type: 1, subtype: 2 },
  ]);
  await lastValueFrom(dev.close(), { defaultValue: undefined });
});

test('maps each sparse area of a mappable region once and closes the region fd', async () => {
  const bar = memfdRegion(0x2000, 0xab);
  const regions = defaultRegions();
  const flags = RegionFlags.READ | RegionFlags.WRITE | RegionFlags.MMAP;
  const areas = [{ offset: 0, size: 0x1000 }, { offset: 0x1000, size: 0x1000 }];
  regions[0] = { info: { index: 0, size: 0x2000, flags, offset: 0, caps: [{ kind: 'sparse_mmap', areas }] }, fd: bar.make };
  const peer = mockPeer({ regions });
  const before = openFds();
  const dev = await firstValueFrom(realizeOn$(peer.conn));
  assert.equal(fdsOpenedSince(before), [], 'the region fd is closed once mapped');
  const mapped = dev.region(0).areas;
  assert.equal(mapped.map((a) => [a.offset, a.size, a.writable]), [[0, 0x1000, true], [0x1000, 0x1000, true]]);
  assert.is(mapped[1]!.buffer[0], 0xab);
  assert.not.ok(dev.postedWrites, 'a mappable region switches posted writes off');
  await lastValueFrom(dev.close(), { defaultValue: undefined });
  assert.is(mapped[0]!.buffer.length, 0, 'close unmaps');
  bar.close();
});

test('an area reaching past the end of the fd is left to messages, with a warning', async () => {
  const bar = memfdRegion(0x1000, 0);
  const regions = defaultRegions();
  regions[0] = { info: { index: 0, size: 0x2000, flags: RegionFlags.READ | RegionFlags.MMAP, offset: 0 }, fd: bar.make };
  const peer = mockPeer({ regions });
  const dev = await firstValueFrom(realizeOn$(peer.conn));
  assert.is(dev.region(0).areas.length, 0);
  assert.match(dev.warnings.join('\n'), /region 0 area 0x0\+0x2000 ends past the fd/);
  await lastValueFrom(dev.close(), { defaultValue: undefined });
  bar.close();
});

test('a GET_REGION_INFO reply with two fds fails realize and closes both', async () => {
  const a = memfdRegion(0x1000, 0);
  const regions = defaultRegions();
  const made: number[] = [];
  const make = () => {
    const fd = a.make();
    made.push(fd);
    return fd;
  };
  const peer = mockPeer({
    regions,
    override: (f) => {
      if (f.header.command !== Command.DEVICE_GET_REGION_INFO) return 'default';
      const req = p.decodeRegionInfoRequest(f.payload);
      return req.index === 1 ? { payload: p.encodeRegionInfoReply(regions[1]!.info), fds: [make(), make()] } : 'default';
    },
  });
  const err = await firstValueFrom(realizeOn$(peer.conn)).catch((e: unknown) => e);
  assert.instance(err, p.MalformedMessageError);
  assert.is((err as p.MalformedMessageError).field, 'fds');
  assert.equal(made.map((fd) => { try { native.fileSize(fd); return 'open'; } catch { return 'closed'; } }), ['closed', 'closed']);
  a.close();
});

const truncatedInfo = (argsz: number) => (f: Frame): Answer => {
  if (f.header.command !== Command.DEVICE_GET_REGION_INFO || p.decodeRegionInfoRequest(f.payload).index !== 2) return 'default';
  const reply = p.encodeRegionInfoReply({ index: 2, size: 0x1000, flags: RegionFlags.READ, offset: 0 });
  reply.writeUInt32LE(argsz, 0);
  return { payload: reply };
};

test('a region info still truncated after the retry is a malformed reply', async () => {
  const peer = mockPeer({ override: truncatedInfo(100) });
  const err = await firstValueFrom(realizeOn$(peer.conn)).catch((e: unknown) => e);
  assert.instance(err, p.MalformedMessageError);
  assert.match((err as Error).message, /still truncated with argsz 100/);
  assert.equal(peer.device.of(Command.DEVICE_GET_REGION_INFO).map((f) => p.decodeRegionInfoRequest(f.payload).argsz), [32, 32, 32, 100]);
});

test('a region info asking for an absurd argsz is refused before the retry', async () => {
  const peer = mockPeer({ override: truncatedInfo(MAX_REGION_INFO_ARGSZ + 1) });
  const err = await firstValueFrom(realizeOn$(peer.conn)).catch((e: unknown) => e);
  assert.instance(err, p.MalformedMessageError);
  assert.is((err as p.MalformedMessageError).field, 'argsz');
  assert.is(peer.device.of(Command.DEVICE_GET_REGION_INFO).length, 3);
});

test('accepts 100 regions and 50 IRQ types, the hostile-server limits', async () => {
  const regions = [...defaultRegions(), ...Array.from({ length: 91 }, (_, i) => ({ info: { index: 9 + i, size: 0, flags: 0, offset: 0 } }))];
  const irqs = Array.from({ length: 50 }, (_, index) => ({ argsz: 16, flags: 1, index, count: index < 5 ? 1 : 0 }));
  const peer = mockPeer({ regions, irqs });
  const dev = await firstValueFrom(realizeOn$(peer.conn));
  assert.is(dev.regions.length, 100);
  assert.is(dev.irqs.length, 50);
  await lastValueFrom(dev.close(), { defaultValue: undefined });
});

test('refuses 101 regions before asking for any region info', async () => {
  const peer = mockPeer({ numRegions: 101 });
  const err = await firstValueFrom(realizeOn$(peer.conn)).catch((e: unknown) => e);
  assert.instance(err, p.MalformedMessageError);
  assert.is((err as p.MalformedMessageError).field, 'num_regions');
  assert.equal(peer.device.commands(), ['VERSION', 'DEVICE_GET_INFO']);
  assert.ok(peer.conn.closed, 'a failed realize closes the connection');
});

test('refuses 51 IRQ types', async () => {
  const peer = mockPeer({ numIrqs: 51 });
  const err = await firstValueFrom(realizeOn$(peer.conn)).catch((e: unknown) => e);
  assert.instance(err, p.MalformedMessageError);
  assert.is((err as p.MalformedMessageError).field, 'num_irqs');
});

for (const [index, count] of [[2, 70000], [2, 0xffffffff], [2, 2049], [1, 33], [0, 2], [5, 2049]] as const) {
  test(`refuses GET_IRQ_INFO claiming ${count} vectors for index ${index} (past what the type can have), opening no eventfd`, async () => {
    const irqs = [1, 4, 8, 1, 1, 1].map((n, i) => ({ argsz: 16, flags: p.IrqInfoFlags.EVENTFD, index: i, count: i === index ? count : n }));
    const before = openFds();
    const peer = mockPeer({ irqs });
    const err = await firstValueFrom(realizeOn$(peer.conn)).catch((e: unknown) => e);
    assert.instance(err, p.MalformedMessageError);
    assert.is((err as p.MalformedMessageError).field, 'count');
    assert.ok(peer.conn.closed, 'a failed realize closes the connection');
    assert.equal(fdsOpenedSince(before), []);
  });
}

test('accepts the most vectors PCI allows: 1 INTx, 32 MSI, 2048 MSI-X', async () => {
  const irqs = [1, 32, 2048, 1, 1].map((count, index) => ({ argsz: 16, flags: p.IrqInfoFlags.EVENTFD, index, count }));
  const dev = await firstValueFrom(realizeOn$(mockPeer({ irqs }).conn));
  assert.equal(dev.irqs.map((i) => i.count), [1, 32, 2048, 1, 1]);
  await lastValueFrom(dev.close(), { defaultValue: undefined });
});

test('a device without a config region of 64 bytes or more fails realize', async () => {
  const regions = defaultRegions().slice(0, 7);
  const peer = mockPeer({ regions });
  const err = await firstValueFrom(realizeOn$(peer.conn)).catch((e: unknown) => e);
  assert.instance(err, p.MalformedMessageError);
  assert.match((err as Error).message, /config space/);
});

test.run();
