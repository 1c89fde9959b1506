// examples/libvfio-user-server.ts (libvfio-user's samples/server written with the framework), served
// in-process and driven by this project's client: ids, regions, BAR 0's time semantics, the timer's
// INTx and DMA with dirty logging, the migration stream's layout, and a migration between two instances.
// Against libvfio-user's own samples/client it is run by hand (see the example's header).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ReplaySubject, filter, firstValueFrom } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { client, protocol, serve, type PciDevice } from 'vfio-user-rx';
import { BAR1_SIZE, crc32c, dmaSlots, finalImage, libvfioUserServer } from '../examples/libvfio-user-server.js';

const { DeviceState } = protocol;
type Device = client.Device;

/** The example served on a temp socket and opened by our client. */
const open = async (device: PciDevice, memory?: client.GuestMemory): Promise<{ dev: Device; close(): Promise<void> }> => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vfio-user-lvu-'));
  const socketPath = path.join(dir, 'sock');
  const seen = new ReplaySubject<string>();
  const sub = serve(device, { socketPath }).subscribe({ next: (e) => seen.next(e.kind), error: (err: unknown) => seen.error(err) });
  await firstValueFrom(seen.pipe(filter((k) => k === 'listening')));
  const dev = await client.openDevice({ socketPath, dmaMode: 'fd', ...(memory ? { memory } : {}) });
  return {
    dev,
    close: async () => {
      await dev.close();
      sub.unsubscribe();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

const time = (t: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(BigInt(t));
  return b;
};
const nowSec = () => Math.floor(Date.now() / 1000);
const pattern = (seed: number) => Buffer.from(Array.from({ length: BAR1_SIZE }, (_, i) => (i * 31 + seed) & 0xff));

test('ids, regions (BAR 0 of 8 bytes without fd, BAR 1 of 16 KiB with two sparse areas), INTx', async () => {
  const { dev, close } = await open(libvfioUserServer());
  const c = dev.config;
  assert.equal([c.vendorId, c.deviceId, c.subsystemVendorId, c.subsystemId], [0xdead, 0xbeef, 0xcafe, 0xbabe]);
  assert.is(dev.regions.length, 9);
  assert.is(dev.region(0).info.size, 8);
  assert.equal(dev.region(0).areas, []);
  assert.is(dev.region(1).info.size, BAR1_SIZE);
  assert.equal(dev.region(1).info.caps.find((cap) => cap.kind === 'sparse_mmap'), {
    kind: 'sparse_mmap',
    areas: [
      { offset: 0x0, size: 0x1000 },
      { offset: 0x3000, size: 0x1000 },
    ],
  });
  assert.is(dev.region(7).info.size, 256);
  assert.equal(dev.irqs.map((i) => i.count), [1, 0, 0, 1, 1]);
  assert.is((await dev.migrationFeatures()).preCopy, true);
  await close();
});

test('BAR 0: a write stores a time, a read answers now - that time; anything but the whole 8 bytes is EINVAL', async () => {
  const { dev, close } = await open(libvfioUserServer());
  await dev.region(0).write(0, time(nowSec() - 100), { posted: false }); // in the past: no timer
  const delta = Number((await dev.region(0).read(0, 8)).readBigInt64LE(0));
  assert.ok(delta === 100 || delta === 101, `delta ${delta}`);
  try {
    await dev.region(0).read(0, 4);
    assert.unreachable('a 4-byte read');
  } catch (err) {
    assert.is((err as { errno?: number }).errno, protocol.Errno.EINVAL);
  }
  await close();
});

test('the timer: INTx, then DMA to the second region (mapped, logged dirty by the server) and the first (by message)', async () => {
  const memory = client.guestMemory();
  const first = memory.add({ iova: 0x0, size: 0x1000 });
  const second = memory.add({ iova: 0x1000, size: 0x1000 });
  const { dev, close } = await open(libvfioUserServer(), memory);
  await dev.enableInterrupts('intx');
  const irqs = dev.interrupts();
  await dev.startDirtyLogging(4096);
  await dev.region(0).write(0, time(nowSec() + 1), { posted: false });
  const irq = await irqs.next();
  assert.is(irq.value?.type, 'intx');
  const expected = Buffer.concat([0x41, 0x42, 0x43, 0x44].map((b) => Buffer.alloc(1024, b)));
  for (let i = 0; i < 100 && !(first.buffer.subarray(0, 4096).equals(expected) && second.buffer.subarray(0, 4096).equals(expected)); i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(second.buffer.subarray(0, 4096).equals(expected), 'DIRECT DMA to the second region');
  assert.ok(first.buffer.subarray(0, 4096).equals(expected), 'MESSAGE DMA to the first region');
  assert.is((await dev.dirtyBitmap(0x1000, 0x1000, 4096))[0]! & 1, 1, 'the page written through the mapping is dirty');
  assert.is((await dev.dirtyBitmap(0x0, 0x1000, 4096))[0]! & 1, 1, 'the page written by message is dirty (logged by the client)');
  await dev.stopDirtyLogging();
  await irqs.return?.();
  await close();
});

test('the stop-and-copy stream is samples/server\'s byte for byte: BAR 1 then BAR 0 (little-endian time_t); pre-copy sends BAR 1', async () => {
  const { dev, close } = await open(libvfioUserServer());
  const bar1 = pattern(7);
  await dev.region(1).write(0, bar1, { posted: false });
  const t = nowSec() - 5;
  await dev.region(0).write(0, time(t), { posted: false });
  const readAll = async (): Promise<Buffer> => {
    const parts: Buffer[] = [];
    for (;;) {
      const piece = await dev.readMigrationData(1024);
      parts.push(piece);
      if (piece.length < 1024) return Buffer.concat(parts);
    }
  };
  await dev.setMigrationState(DeviceState.PRE_COPY);
  assert.ok((await readAll()).equals(bar1), 'pre-copy: BAR 1');
  await dev.setMigrationState(DeviceState.STOP_COPY);
  const stream = await readAll();
  assert.is(stream.length, BAR1_SIZE + 8);
  assert.ok(stream.equals(Buffer.concat([bar1, time(t)])));
  assert.is(crc32c(stream.subarray(0, BAR1_SIZE)), crc32c(bar1));
  await dev.setMigrationState(DeviceState.STOP);
  await close();
});

test('migration between two instances with our client: BAR 1 and BAR 0 move, the destination runs', async () => {
  const a = await open(libvfioUserServer());
  const b = await open(libvfioUserServer());
  const bar1 = pattern(3);
  await a.dev.region(1).write(0, bar1, { posted: false });
  await a.dev.region(0).write(0, time(nowSec() - 42), { posted: false });
  const progress: client.MigrationProgress[] = [];
  for await (const p of client.migrateDevices(a.dev, b.dev)) progress.push(p);
  assert.equal(progress.map((p) => (p.kind === 'resumed' ? p.kind : `${p.kind} ${p.bytes}`)), ['pre-copy 16384', 'pre-copy 0', 'stop-copy 16392', 'resumed']);
  assert.ok((await b.dev.region(1).read(0, BAR1_SIZE)).equals(bar1));
  const delta = Number((await b.dev.region(0).read(0, 8)).readBigInt64LE(0));
  assert.ok(delta === 42 || delta === 43, `delta ${delta}`);
  assert.is(await b.dev.migrationState(), DeviceState.RUNNING);
  assert.is(await a.dev.migrationState(), DeviceState.STOP);
  await a.close();
  await b.close();
});

test('finalImage: the last stop-and-copy image after any pre-copy BAR 1 images; other lengths are refused', () => {
  const image = Buffer.concat([pattern(1), time(1234)]);
  assert.equal(finalImage(image).bar0, 1234n);
  const after = finalImage(Buffer.concat([pattern(9), image]));
  assert.ok(after.bar1.equals(pattern(1)));
  assert.throws(() => finalImage(image.subarray(1)), /16392 bytes/);
  assert.throws(() => finalImage(Buffer.concat([Buffer.alloc(1), image])), /16392 bytes/);
});

test('dmaSlots: unmapping frees a slot, a new range takes the first free one (server.c\'s regions[])', () => {
  const r = (iova: number) => ({ iova, size: 0x1000, readable: true, writable: true, mapped: true });
  let slots = dmaSlots([], [r(0), r(0x1000), r(0x2000)]);
  assert.equal(slots.map((s) => s?.iova), [0, 0x1000, 0x2000]);
  slots = dmaSlots(slots, [r(0x1000), r(0x2000)]);
  assert.equal(slots.map((s) => s?.iova), [undefined, 0x1000, 0x2000]);
  slots = dmaSlots(slots, [r(0x1000), r(0x2000), r(0x8000)]);
  assert.equal(slots.map((s) => s?.iova), [0x8000, 0x1000, 0x2000]);
});

test.run();
