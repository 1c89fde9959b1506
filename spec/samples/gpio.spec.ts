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
import { decodeRegionReadReply, encodeRegionReadRequest, encodeRegionWriteRequest } from '../../src/protocol/region-access.js';
import { eventfd$ } from '../../src/streams/eventfd.js';
import { PciConfig } from '../../src/pci/index.js';
import { serve, testBed } from '../../src/server/index.js';
import { GpioReg, gpioDevice } from '../../src/samples/index.js';
import { connectClient, until } from '../server/socket-client.js';
import { migrateBeds } from './migrate.js';
import { fdsOpenedSince, openFds } from '../fixtures/fds.js';

const scheduler = () => new TestScheduler((actual, expected) => assert.equal(actual, expected));
const BAR = 2;
const le16 = (v: number) => Buffer.from([v & 0xff, v >> 8]);
const hex16 = (v: number) => le16(v).toString('hex');
const ok = (command: string) => ({ kind: 'reply', command });
const read = (v: number) => ({ kind: 'reply', command: 'REGION_READ', data: hex16(v) });

test('identifies as the ACCES PCI-IDIO-16, with INTA# and a 256-byte I/O BAR 2', () => {
  const gpio = gpioDevice();
  const bytes = gpio.config.bytes;
  assert.is(bytes.readUInt16LE(PciConfig.VENDOR_ID), 0x494f);
  assert.is(bytes.readUInt16LE(PciConfig.DEVICE_ID), 0x0dc8);
  assert.is(bytes[PciConfig.INTERRUPT_PIN], 1);
  assert.equal([gpio.regions[BAR]!.size, bytes.readUInt32LE(PciConfig.BAR2) & 1], [256, 1]);
});

test('outputs written read back and reach outputs$; IN is read-only', () => {
  const gpio = gpioDevice();
  scheduler().run(({ hot, expectObservable }) => {
    const bed = testBed(gpio);
    const { req } = bed;
    const input = hot('-a-b-c-d', {
      a: req.regionWrite(BAR, GpioReg.OUT, le16(0xbeef)),
      b: req.regionRead(BAR, GpioReg.OUT, 2),
      c: req.regionWrite(BAR, GpioReg.IN, le16(0xffff)),
      d: req.regionRead(BAR, GpioReg.IN, 2),
    });
    expectObservable(bed.run(input)).toBe('-a-b-c-d', { a: ok('REGION_WRITE'), b: read(0xbeef), c: ok('REGION_WRITE'), d: read(0) });
    expectObservable(gpio.outputs$).toBe('0a', { 0: 0, a: 0xbeef });
  });
});

test('an input change on a line enabled in IER sets ISR and raises INTx; ISR is write-1-to-clear', () => {
  const gpio = gpioDevice();
  scheduler().run(({ hot, expectObservable }) => {
    const bed = testBed(gpio);
    const { req } = bed;
    hot('----x-y').subscribe((v) => gpio.setInputs(v === 'x' ? 0b0101 : 0b0111));
    const input = hot('-i-e-----s-c-s', {
      i: bed.irqs('intx', 0, 1),
      e: req.regionWrite(BAR, GpioReg.IER, le16(0b0001)),
      s: req.regionRead(BAR, GpioReg.ISR, 2),
      c: req.regionWrite(BAR, GpioReg.ISR, le16(0b0001)),
    });
    const irq = { kind: 'irq', type: 'intx', vector: 0 };
    expectObservable(bed.run(input)).toBe('-i-ex----s-c-t', { i: ok('DEVICE_SET_IRQS'), e: ok('REGION_WRITE'), x: irq, s: read(0b0001), c: ok('REGION_WRITE'), t: read(0) });
  });
});

test('DEVICE_RESET clears OUT, IER and ISR but keeps the input lines', async () => {
  const gpio = gpioDevice();
  const bed = testBed(gpio);
  const session = bed.open();
  gpio.setInputs(0x00f0);
  await session.send(bed.req.regionWrite(BAR, 0, Buffer.from([1, 2, 0, 0, 0, 0, 3, 4])));
  await session.send(bed.req.reset());
  const r = decodeRegionReadReply((await session.send(bed.req.regionRead(BAR, 0, 8))).payload);
  assert.is(r.data?.toString('hex'), '0000f00000000000');
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
    await client.request(Command.REGION_WRITE, encodeRegionWriteRequest({ offset: GpioReg.IER, region: BAR, data: le16(0xffff) }));
    const signalled = firstValueFrom(eventfd$(native, efd));
    gpio.setInputs(0x8001);
    assert.is(await signalled, 1n);
    const r = await client.request(Command.REGION_READ, encodeRegionReadRequest({ offset: GpioReg.IN, region: BAR, count: 4 }));
    assert.is(decodeRegionReadReply(r.payload).data?.toString('hex'), '01800180');
    assert.equal(client.dma, []);
    client.close();
    native.close(efd);
    sub.unsubscribe();
    await until(() => fdsOpenedSince(fds).length === 0);
    rmSync(dir, { recursive: true, force: true });
  });
}

test('migrates its register file (not its input lines) to another card', async () => {
  const src = gpioDevice();
  const a = testBed(src);
  const sa = a.open();
  src.setInputs(0x00f0);
  await sa.send(a.req.regionWrite(BAR, GpioReg.OUT, le16(0xbeef)));
  await sa.send(a.req.regionWrite(BAR, GpioReg.IER, le16(0x0f00)));
  const dst = gpioDevice();
  const b = testBed(dst);
  const sb = b.open();
  dst.setInputs(0x0003);
  const outputs: number[] = [];
  dst.outputs$.subscribe((v) => outputs.push(v));
  await migrateBeds({ bed: a, session: sa }, { bed: b, session: sb });
  const reg = async (offset: number) => decodeRegionReadReply((await sb.send(b.req.regionRead(BAR, offset, 2))).payload).data!.readUInt16LE(0);
  assert.equal([await reg(GpioReg.OUT), await reg(GpioReg.IER), await reg(GpioReg.IN)], [0xbeef, 0x0f00, 0x0003]);
  assert.equal(outputs, [0, 0xbeef], 'the destination drives the migrated outputs');
  sa.stop();
  sb.stop();
});

test.run();
