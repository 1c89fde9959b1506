// The GPIO sample: marble tests through the test bed, then a real socket with a real eventfd.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestScheduler } from 'rxjs/testing';
import { firstValueFrom } from 'rxjs';
import { native } from '../../src/native/index.js';
import { Command, IrqSetFlags, PciIrq } from '../../src/protocol/constants.js';
import { encodeDmaMapRequest } from '../../src/protocol/dma.js';
import { encodeSetIrqsRequest } from '../../src/protocol/irq.js';
import { decodeRegionReadReply, encodeRegionReadRequest } from '../../src/protocol/region-access.js';
import { eventfd$ } from '../../src/streams/eventfd.js';
import { PciConfig } from '../../src/pci/index.js';
import { serve, testBed } from '../../src/server/index.js';
import { GpioReg, GpioStatus, gpioDevice } from '../../src/samples/index.js';
import { connectClient, until } from '../server/socket-client.js';
import { migrateBeds } from './migrate.js';
import { fdsOpenedSince, openFds } from '../fixtures/fds.js';

const scheduler = () => new TestScheduler((actual, expected) => assert.equal(actual, expected));
const BAR = 2;
const ok = (command: string) => ({ kind: 'reply', command });

test('identifies as the ACCES PCI-IDIO-16, with INTA# and a 256-byte I/O BAR 2', () => {
  const gpio = gpioDevice();
  const bytes = gpio.config.bytes;
  assert.is(bytes.readUInt16LE(PciConfig.VENDOR_ID), 0x494f);
  assert.is(bytes.readUInt16LE(PciConfig.DEVICE_ID), 0x0dc8);
  assert.is(bytes[PciConfig.INTERRUPT_PIN], 1);
  assert.equal([gpio.regions[BAR]!.size, bytes.readUInt32LE(PciConfig.BAR2) & 1], [256, 1]);
});

const byte = (v: number) => ({ kind: 'reply', command: 'REGION_READ', data: Buffer.of(v).toString('hex') });

test('outputs are two 8-bit registers at 0x0 and 0x4 (a stride of 4), read back and reach outputs$', () => {
  const gpio = gpioDevice();
  scheduler().run(({ hot, expectObservable }) => {
    const bed = testBed(gpio);
    const { req } = bed;
    const input = hot('-a-b-c-d', {
      a: req.regionWrite(BAR, GpioReg.OUT0_7, Buffer.of(0xef)),
      b: req.regionWrite(BAR, GpioReg.OUT8_15, Buffer.of(0xbe)),
      c: req.regionRead(BAR, GpioReg.OUT0_7, 1),
      d: req.regionRead(BAR, GpioReg.OUT8_15, 1),
    });
    expectObservable(bed.run(input)).toBe('-a-b-c-d', { a: ok('REGION_WRITE'), b: ok('REGION_WRITE'), c: byte(0xef), d: byte(0xbe) });
    expectObservable(gpio.outputs$).toBe('0a-b', { 0: 0, a: 0x00ef, b: 0xbeef });
  });
});

test('inputs read at 0x1 and 0x5; writing 0x1 clears the interrupt, not the inputs', async () => {
  const gpio = gpioDevice();
  const bed = testBed(gpio);
  const session = bed.open();
  gpio.setInputs(0x8001);
  const read = async (offset: number) => decodeRegionReadReply((await session.send(bed.req.regionRead(BAR, offset, 1))).payload).data![0];
  assert.equal([await read(GpioReg.IN0_7), await read(GpioReg.IN8_15)], [0x01, 0x80]);
  await session.send(bed.req.regionWrite(BAR, GpioReg.IN0_7, Buffer.of(0)));
  assert.is(await read(GpioReg.IN0_7), 0x01);
  const all = decodeRegionReadReply((await session.send(bed.req.regionRead(BAR, 0, 8))).payload).data!;
  assert.is(all.toString('hex'), '0001000000800000', 'one 8-byte read: each byte its register');
  session.stop();
});

test('reading 0x2 enables the interrupt: an input change then sets the status and raises INTx; writing 0x1 clears it; writing 0x2 disables', () => {
  const gpio = gpioDevice();
  scheduler().run(({ hot, expectObservable }) => {
    const bed = testBed(gpio);
    const { req } = bed;
    // x: line 0 changes before the interrupt is enabled; y: line 9 changes after; z: line 1 after it was disabled.
    hot('--x-----y---------z').subscribe((v) => gpio.setInputs(v === 'x' ? 0x0001 : v === 'y' ? 0x0201 : 0x0203));
    const input = hot('-i---s-e--t-c-t-d---t', {
      i: bed.irqs('intx', 0, 1),
      s: req.regionRead(BAR, GpioReg.IRQ_STATUS, 1),
      e: req.regionRead(BAR, GpioReg.IRQ_CTL, 1),
      t: req.regionRead(BAR, GpioReg.IRQ_STATUS, 1),
      c: req.regionWrite(BAR, GpioReg.IN0_7, Buffer.of(0)),
      d: req.regionWrite(BAR, GpioReg.IRQ_CTL, Buffer.of(0)),
    });
    const irq = { kind: 'irq', type: 'intx', vector: 0 };
    expectObservable(bed.run(input)).toBe('-i---s-ex-t-c-u-d---u', {
      i: ok('DEVICE_SET_IRQS'),
      s: byte(0),
      e: byte(0),
      x: irq,
      t: byte(GpioStatus.PENDING | GpioStatus.HIGH_BANK),
      c: ok('REGION_WRITE'),
      u: byte(0),
      d: ok('REGION_WRITE'),
    });
  });
});

test('DEVICE_RESET clears outputs, the interrupt and its status but keeps the input lines', async () => {
  const gpio = gpioDevice();
  const bed = testBed(gpio);
  const session = bed.open();
  gpio.setInputs(0x00f0);
  await session.send(bed.req.regionWrite(BAR, GpioReg.OUT0_7, Buffer.of(1)));
  await session.send(bed.req.regionWrite(BAR, GpioReg.OUT8_15, Buffer.of(2)));
  await session.send(bed.req.regionRead(BAR, GpioReg.IRQ_CTL, 1));
  gpio.setInputs(0x00f1);
  await session.send(bed.req.reset());
  // Not one 8-byte read: reading IRQ_CTL (0x2) would enable the interrupt again, as on the card.
  const low = decodeRegionReadReply((await session.send(bed.req.regionRead(BAR, 0, 2))).payload).data!;
  const high = decodeRegionReadReply((await session.send(bed.req.regionRead(BAR, 4, 3))).payload).data!;
  assert.equal([low.toString('hex'), high.toString('hex')], ['00f1', '000000']);
  gpio.setInputs(0x00f3);
  assert.is(decodeRegionReadReply((await session.send(bed.req.regionRead(BAR, GpioReg.IRQ_STATUS, 1))).payload).data![0], 0, 'the interrupt is disabled again');
  session.stop();
});

for (const mode of ['fd', 'message'] as const) {
  test(`over a socket (DMA_MAP ${mode === 'fd' ? 'with a memfd' : 'without fd'}): registers, and INTx on a real eventfd`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vfu-gpio-'));
    const path = join(dir, 'sock');
    const fds = openFds();
    const gpio = gpioDevice();
    const sub = serve(gpio, { socketPath: path }).subscribe();
    const client = await connectClient(path);
    const mem = mode === 'fd' ? native.memfd('guest', 0x10000) : undefined;
    await client.request(Command.DMA_MAP, encodeDmaMapRequest({ flags: 3, offset: 0, address: 0, size: 0x10000 }), mem === undefined ? [] : [mem]);
    if (mem !== undefined) native.close(mem);
    const efd = native.eventfd();
    await client.request(Command.DEVICE_SET_IRQS, encodeSetIrqsRequest({ flags: IrqSetFlags.DATA_EVENTFD | IrqSetFlags.ACTION_TRIGGER, index: PciIrq.INTX, start: 0, count: 1 }), [efd]);
    await client.request(Command.REGION_READ, encodeRegionReadRequest({ offset: GpioReg.IRQ_CTL, region: BAR, count: 1 }));
    const signalled = firstValueFrom(eventfd$(native, efd));
    gpio.setInputs(0x8001);
    assert.is(await signalled, 1n);
    const r = await client.request(Command.REGION_READ, encodeRegionReadRequest({ offset: GpioReg.IN0_7, region: BAR, count: 7 }));
    assert.is(decodeRegionReadReply(r.payload).data?.toString('hex'), '01000000800700', 'IN0_7, IRQ_CTL, FILTER_CTL, OUT8_15, IN8_15, IRQ_STATUS (both banks changed), 0');
    assert.equal(client.dma, []);
    client.close();
    native.close(efd);
    sub.unsubscribe();
    await until(() => fdsOpenedSince(fds).length === 0);
    rmSync(dir, { recursive: true, force: true });
  });
}

test('migrates its registers (not its input lines) to another card', async () => {
  const src = gpioDevice();
  const a = testBed(src);
  const sa = a.open();
  src.setInputs(0x00f0);
  await sa.send(a.req.regionWrite(BAR, GpioReg.OUT0_7, Buffer.of(0xef)));
  await sa.send(a.req.regionWrite(BAR, GpioReg.OUT8_15, Buffer.of(0xbe)));
  await sa.send(a.req.regionRead(BAR, GpioReg.IRQ_CTL, 1));
  src.setInputs(0x00f1);
  const dst = gpioDevice();
  const b = testBed(dst);
  const sb = b.open();
  dst.setInputs(0x0003);
  const outputs: number[] = [];
  dst.outputs$.subscribe((v) => outputs.push(v));
  await migrateBeds({ bed: a, session: sa }, { bed: b, session: sb });
  const reg = async (offset: number) => decodeRegionReadReply((await sb.send(b.req.regionRead(BAR, offset, 1))).payload).data![0];
  assert.equal([await reg(GpioReg.OUT0_7), await reg(GpioReg.OUT8_15), await reg(GpioReg.IRQ_STATUS), await reg(GpioReg.IN0_7)], [0xef, 0xbe, GpioStatus.PENDING | GpioStatus.LOW_BANK, 0x03]);
  assert.equal(outputs, [0, 0xbeef], 'the destination drives the migrated outputs');
  sa.stop();
  sb.stop();
});

test.run();
