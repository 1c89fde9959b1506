// Live migration between two servers over real sockets, driven by the client's migrate$, in fd and
// message modes; dirty logging against the pages really written.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { guestMemory, migrateDevices, type Device, type Interrupt, type MigrationProgress } from '../../src/client/index.js';
import { DeviceState } from '../../src/protocol/constants.js';
import { dirtyAddresses } from '../../src/protocol/dirty-bitmap.js';
import { RemoteError } from '../../src/protocol/errors.js';
import { DmaReg, DmaStatus, GpioReg, dmaEngineDevice, gpioDevice, ramDevice, RamReg } from '../../src/samples/index.js';
import { memoryBar, pciDevice } from '../../src/server/index.js';
import { modes, session } from './harness.js';

const RAM = 0x100000;
const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};
const reg = async (dev: Device, region: number, offset: number, bytes = 4) => {
  const data = await dev.region(region).read(offset, bytes);
  return bytes === 2 ? data.readUInt16LE(0) : data.readUInt32LE(0);
};
const collect = async (it: AsyncIterableIterator<MigrationProgress>): Promise<MigrationProgress[]> => {
  const out: MigrationProgress[] = [];
  for await (const p of it) out.push(p);
  return out;
};

for (const [mode, options] of Object.entries(modes)) {
  const test = suite(`migration, ${mode} mode`);

  test('gpio: registers move to the destination, which then runs; the source is left stopped', async () => {
    const a = await session(gpioDevice(), { ...options, postedWrites: false });
    const b = await session(gpioDevice(), { ...options, postedWrites: false });
    await a.dev.region(2).write(GpioReg.OUT0_7, Buffer.of(0xef));
    await a.dev.region(2).write(GpioReg.OUT8_15, Buffer.of(0xbe));
    await a.dev.region(2).read(GpioReg.IRQ_CTL, 1);
    const progress = await collect(migrateDevices(a.dev, b.dev));
    assert.equal(progress.map((p) => p.kind), ['stop-copy', 'resumed'], 'gpio offers no PRE_COPY: straight to stop-and-copy');
    assert.ok(progress[0]!.kind === 'stop-copy' && progress[0]!.bytes > 0);
    const out = await b.dev.region(2).read(GpioReg.OUT0_7, 8);
    assert.equal([out[GpioReg.OUT0_7], out[GpioReg.OUT8_15]], [0xef, 0xbe]);
    assert.is(await b.dev.migrationState(), DeviceState.RUNNING);
    assert.is(await a.dev.migrationState(), DeviceState.STOP);
    await a.close();
    await b.close();
  });

  test('ram: its memory moves, with the register page', async () => {
    const a = await session(ramDevice(), options);
    const b = await session(ramDevice(), options);
    await a.dev.region(2).write(RamReg.FILL, u32(0x77), { posted: false });
    await a.dev.region(2).write(RamReg.SCRATCH, u32(0xabcd), { posted: false });
    const sum = await reg(a.dev, 2, RamReg.CHECKSUM);
    await collect(migrateDevices(a.dev, b.dev));
    assert.is(await reg(b.dev, 2, RamReg.CHECKSUM), sum);
    assert.is(await reg(b.dev, 2, RamReg.SCRATCH), 0xabcd);
    await a.close();
    await b.close();
  });

  test('dma-engine busy copying when the migration starts: the copy ends on the source, the destination has its result and registers', async () => {
    const memory = guestMemory();
    const ram = memory.add({ iova: RAM, size: 0x40000 });
    ram.buffer.fill(0x3c, 0, 0x20000);
    const a = await session(dmaEngineDevice(), options, memory);
    const b = await session(dmaEngineDevice(), options, memory);
    await a.dev.enableInterrupts('intx');
    const irqs = a.dev.interrupts();
    const bar = a.dev.region(0);
    for (const [offset, value] of [[DmaReg.SRC_LO, RAM], [DmaReg.SRC_HI, 0], [DmaReg.DST_LO, RAM + 0x20000], [DmaReg.DST_HI, 0], [DmaReg.LEN, 0x20000], [DmaReg.VECTOR, 1]] as const) {
      await bar.write(offset, u32(value));
    }
    await bar.write(DmaReg.DOORBELL, u32(1));
    const progress = await collect(migrateDevices(a.dev, b.dev, { dirtyRanges: [{ iova: RAM, length: 0x40000 }] }));
    assert.equal(progress.map((p) => p.kind), ['pre-copy', 'stop-copy', 'resumed'], 'one pre-copy round: it had nothing to send ahead');
    assert.ok(ram.buffer.subarray(0x20000, 0x40000).equals(Buffer.alloc(0x20000, 0x3c)), 'the copy finished');
    // Pages the copy wrote after logging started (all of them, or none if it was already done): never others.
    const dirty = progress.reduce((n, p) => n + (p.kind === 'resumed' ? 0 : p.dirtyPages), 0);
    assert.ok(dirty <= 0x20, `dirty pages ${dirty}`);
    assert.equal(await reg(b.dev, 0, DmaReg.STATUS) & (DmaStatus.DONE | DmaStatus.BUSY), DmaStatus.DONE);
    assert.is(await reg(b.dev, 0, DmaReg.COMPLETED), 1);
    assert.is(await reg(b.dev, 0, DmaReg.VECTOR), 1);
    await irqs.return?.();
    await a.close();
    await b.close();
    memory.close();
  });

  test('dirty bitmaps show the pages the device wrote, by mapping or by message, then clear', async () => {
    const memory = guestMemory();
    const ram = memory.add({ iova: RAM, size: 0x10000 });
    const a = await session(dmaEngineDevice(), options, memory);
    const dev = a.dev;
    assert.is(await dev.startDirtyLogging(4096), 4096);
    await dev.enableInterrupts('intx');
    const irqs = dev.interrupts();
    ram.buffer.write('dirty', 0);
    const bar = dev.region(0);
    for (const [offset, value] of [[DmaReg.SRC_LO, RAM], [DmaReg.DST_LO, RAM + 0x5ffe], [DmaReg.LEN, 5]] as const) await bar.write(offset, u32(value));
    await bar.write(DmaReg.DOORBELL, u32(1));
    (await irqs.next()).value as Interrupt;
    const range = { iova: RAM, length: 0x10000, page_size: 4096 };
    assert.equal(dirtyAddresses(await dev.dirtyBitmap(RAM, 0x10000), range), [RAM + 0x5000, RAM + 0x6000], 'the copy straddled two pages');
    assert.equal(dirtyAddresses(await dev.dirtyBitmap(RAM, 0x10000), range), [], 'cleared by the query');
    await dev.stopDirtyLogging();
    const err = await dev.dirtyBitmap(RAM, 0x10000).catch((e: unknown) => e);
    assert.instance(err, RemoteError);
    await irqs.return?.();
    await a.close();
    memory.close();
  });

  test.run();
}

const failing = suite('migration failures');

failing('a destination that refuses the data fails the migration; the source runs again', async () => {
  const refuse = () => pciDevice({ ids: { vendorId: 1, deviceId: 2, classCode: 0 }, bars: { 0: memoryBar(16) }, migration: { raw: true, load: () => { throw new Error('not mine'); } } });
  const accept = () => pciDevice({ ids: { vendorId: 1, deviceId: 2, classCode: 0 }, bars: { 0: memoryBar(16) }, migration: { raw: true, save: () => Buffer.from('state') } });
  const a = await session(accept(), modes.fd);
  const b = await session(refuse(), modes.fd);
  const err = await collect(migrateDevices(a.dev, b.dev)).catch((e: unknown) => e);
  assert.instance(err, RemoteError);
  assert.is((err as RemoteError).errnoName, 'EINVAL');
  assert.is(await a.dev.migrationState(), DeviceState.RUNNING, 'the source was set running again');
  await a.close();
  await b.close();
});

failing('a device without migration: migrate fails at the feature query', async () => {
  const none = () => pciDevice({ ids: { vendorId: 1, deviceId: 2, classCode: 0 }, bars: { 0: memoryBar(16) }, migration: false });
  const a = await session(none(), modes.fd);
  const b = await session(none(), modes.fd);
  const err = await collect(migrateDevices(a.dev, b.dev)).catch((e: unknown) => e);
  assert.instance(err, RemoteError);
  await a.close();
  await b.close();
});

failing.run();
