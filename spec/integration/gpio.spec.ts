import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Interrupt } from '../../src/client/index.js';
import { GpioReg, GpioStatus, gpioDevice } from '../../src/samples/index.js';
import { RegionFlags } from '../../src/protocol/index.js';
import { modes, session } from './harness.js';
import { fdsOpenedSince, openFds } from '../fixtures/fds.js';


for (const [mode, options] of Object.entries(modes)) {
  const test = suite(`gpio, ${mode} mode`);

  test('identifies as the ACCES PCI-IDIO-16 with a 256-byte I/O BAR 2 and INTA#', async () => {
    const s = await session(gpioDevice(), options);
    const { dev } = s;
    assert.equal([dev.config.vendorId, dev.config.deviceId, dev.config.classCode], [0x494f, 0x0dc8, 0x088000]);
    assert.is(dev.config.interruptPin, 1);
    assert.equal([dev.config.bars[2]!.kind, dev.regions[2]!.size], ['io', 256]);
    assert.is(dev.regions[2]!.flags & RegionFlags.MMAP, 0);
    assert.ok(dev.postedWrites, 'nothing mappable: BAR writes are posted');
    assert.is(dev.irqs[0]!.count, 1);
    await s.close();
  });

  test('posted writes to the two output registers are visible to later reads and to the outside world', async () => {
    const device = gpioDevice();
    const outputs: number[] = [];
    const sub = device.outputs$.subscribe((v) => outputs.push(v));
    const s = await session(device, options);
    const bar = s.dev.region(2);
    await bar.write(GpioReg.OUT0_7, Buffer.of(0xc3));
    await bar.write(GpioReg.OUT8_15, Buffer.of(0xa5));
    assert.equal([...(await bar.read(GpioReg.OUT0_7, 1)), ...(await bar.read(GpioReg.OUT8_15, 1))], [0xc3, 0xa5]);
    assert.is(outputs[outputs.length - 1], 0xa5c3);
    await s.close();
    sub.unsubscribe();
  });

  test('an input change with the interrupt enabled raises INTx; the client acks (unmasks) and clears the status', async () => {
    const device = gpioDevice();
    const s = await session(device, options);
    const { dev } = s;
    await dev.enableInterrupts('intx');
    const irqs = dev.interrupts();
    await dev.region(2).read(GpioReg.IRQ_CTL, 1); // reading IRQ_CTL enables the interrupt, as the driver does
    device.setInputs(0x0002);
    const irq = (await irqs.next()).value as Interrupt;
    assert.equal([irq.type, irq.vector], ['intx', 0]);
    assert.is((await dev.region(2).read(GpioReg.IRQ_STATUS, 1))[0], GpioStatus.PENDING | GpioStatus.LOW_BANK);
    await dev.region(2).write(GpioReg.IN0_7, Buffer.of(0), { posted: false });
    await irq.ack();
    assert.is((await dev.region(2).read(GpioReg.IRQ_STATUS, 1))[0], 0);
    device.setInputs(0x0003);
    const again = (await irqs.next()).value as Interrupt;
    assert.is(again.vector, 0, 'after the ack the next change interrupts again');
    await s.close();
    assert.is((await irqs.next()).done, true);
  });

  test('reset clears the registers', async () => {
    const s = await session(gpioDevice(), options);
    await s.dev.region(2).write(GpioReg.OUT8_15, Buffer.of(0xff));
    await s.dev.reset();
    assert.is((await s.dev.region(2).read(GpioReg.OUT8_15, 1))[0], 0);
    await s.close();
  });

  test('closing leaves no fd open in this process', async () => {
    const before = openFds();
    const s = await session(gpioDevice(), options);
    await s.dev.enableInterrupts('intx');
    await s.close();
    await new Promise((r) => setImmediate(r));
    assert.equal(fdsOpenedSince(before), []);
  });

  test.run();
}
