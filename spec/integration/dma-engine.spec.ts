import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { guestMemory, type Device, type Interrupt } from '../../src/client/index.js';
import { DMA_MAX_LENGTH, DmaReg, DmaStatus, dmaEngineDevice } from '../../src/samples/index.js';
import { Errno } from '../../src/protocol/index.js';
import type { TraceEvent } from '../../src/wire/trace.js';
import { modes, session } from './harness.js';

const RAM = 0x100000;
const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};
const reg = async (dev: Device, offset: number) => (await dev.region(0).read(offset, 4)).readUInt32LE();

/** Enables MSI-X in config space (Message Control bit 15), as a guest driver would. */
const enableMsix = async (dev: Device) => {
  const cap = dev.config.capabilities.find((c) => c.kind === 'msix')!;
  await dev.region(7).write(cap.offset + 2, Buffer.from([0x00, 0x80]));
};

/** Programs one copy and rings the doorbell. */
const startCopy = async (dev: Device, src: number, dst: number, length: number, vector: number) => {
  const bar = dev.region(0);
  await bar.write(DmaReg.SRC_LO, u32(src));
  await bar.write(DmaReg.SRC_HI, u32(0));
  await bar.write(DmaReg.DST_LO, u32(dst));
  await bar.write(DmaReg.DST_HI, u32(0));
  await bar.write(DmaReg.LEN, u32(length));
  await bar.write(DmaReg.VECTOR, u32(vector));
  await bar.write(DmaReg.DOORBELL, u32(1));
};

for (const [mode, options] of Object.entries(modes)) {
  const test = suite(`dma-engine, ${mode} mode`);

  test('copies through guest memory and signals completion on the chosen MSI-X vector', async () => {
    const memory = guestMemory();
    const ram = memory.add({ iova: RAM, size: 0x10000 });
    const pattern = Buffer.from(Array.from({ length: 0x3000 }, (_, i) => (i * 13) & 0xff));
    pattern.copy(ram.buffer, 0);
    const s = await session(dmaEngineDevice(), options, memory);
    const { dev } = s;
    assert.is(dev.dmaMode, mode);
    assert.is(dev.twinSocket, mode === 'fd', 'the server opens a twin socket only to a client that takes fds');
    const dmaCommands: string[] = [];
    const traced = dev.rx.trace$.subscribe((e) => e.direction === 'in' && e.type === 'command' && dmaCommands.push(e.commandName));
    await dev.enableInterrupts('msix');
    const irqs = dev.interrupts();
    await enableMsix(dev);
    await startCopy(dev, RAM, RAM + 0x8000, pattern.length, 1);
    const irq = (await irqs.next()).value as Interrupt;
    assert.equal([irq.type, irq.vector], ['msix', 1]);
    assert.is((await reg(dev, DmaReg.STATUS)) & (DmaStatus.DONE | DmaStatus.ERROR), DmaStatus.DONE);
    assert.ok(ram.buffer.subarray(0x8000, 0x8000 + pattern.length).equals(pattern));
    assert.is(await reg(dev, DmaReg.COMPLETED), 1);
    // With the memfd the server copies through its own mapping; without, by DMA_READ/DMA_WRITE to us.
    assert.equal(dmaCommands, mode === 'fd' ? [] : ['DMA_READ', 'DMA_WRITE']);
    traced.unsubscribe();
    await s.close();
    memory.close();
  });

  test('back-to-back copies of the largest length each arrive whole (large messages reuse their buffers)', async () => {
    const memory = guestMemory();
    const ram = memory.add({ iova: RAM, size: 6 * DMA_MAX_LENGTH });
    const s = await session(dmaEngineDevice(), options, memory);
    await s.dev.enableInterrupts('msix');
    const irqs = s.dev.interrupts();
    await enableMsix(s.dev);
    for (let k = 0; k < 3; k++) {
      const src = ram.buffer.subarray(k * DMA_MAX_LENGTH, (k + 1) * DMA_MAX_LENGTH);
      for (let i = 0; i < src.length; i++) src[i] = (i * (k + 3) + k) & 0xff;
      await startCopy(s.dev, RAM + k * DMA_MAX_LENGTH, RAM + (3 + k) * DMA_MAX_LENGTH, DMA_MAX_LENGTH, 0);
      await irqs.next();
    }
    for (let k = 0; k < 3; k++) {
      const src = ram.buffer.subarray(k * DMA_MAX_LENGTH, (k + 1) * DMA_MAX_LENGTH);
      assert.ok(ram.buffer.subarray((3 + k) * DMA_MAX_LENGTH, (4 + k) * DMA_MAX_LENGTH).equals(src), `copy ${k}`);
    }
    assert.is(await reg(s.dev, DmaReg.COMPLETED), 3);
    await s.close();
    memory.close();
  });

  test('a copy to an address outside every mapping fails with EFAULT', async () => {
    const memory = guestMemory();
    memory.add({ iova: RAM, size: 0x4000 });
    const s = await session(dmaEngineDevice(), options, memory);
    const { dev } = s;
    await dev.enableInterrupts('intx');
    const irqs = dev.interrupts();
    await startCopy(dev, RAM, 0x4000_0000, 0x100, 0);
    await irqs.next();
    assert.is((await reg(dev, DmaReg.STATUS)) & DmaStatus.ERROR, DmaStatus.ERROR);
    assert.is(await reg(dev, DmaReg.ERRNO), Errno.EFAULT);
    await s.close();
    memory.close();
  });

  test('a copy into read-only memory fails with EPERM and leaves it untouched', async () => {
    const memory = guestMemory();
    memory.add({ iova: RAM, size: 0x4000 }).buffer.fill(0x77);
    const rom = memory.add({ iova: RAM + 0x10000, size: 0x4000, readonly: true });
    const s = await session(dmaEngineDevice(), options, memory);
    const { dev } = s;
    await dev.enableInterrupts('intx');
    const irqs = dev.interrupts();
    await startCopy(dev, RAM, RAM + 0x10000, 0x100, 0);
    await irqs.next();
    assert.is(await reg(dev, DmaReg.ERRNO), Errno.EPERM);
    assert.is(rom.buffer[0], 0);
    await s.close();
    memory.close();
  });

  test('memory added after realize is mapped before it is used', async () => {
    const memory = guestMemory();
    const s = await session(dmaEngineDevice(), options, memory);
    const { dev } = s;
    const ram = memory.add({ iova: RAM, size: 0x2000 });
    ram.buffer.write('late memory', 0);
    await dev.dmaSettled();
    await dev.enableInterrupts('intx');
    const irqs = dev.interrupts();
    await startCopy(dev, RAM, RAM + 0x1000, 11, 0);
    await irqs.next();
    assert.is(ram.buffer.toString('utf8', 0x1000, 0x100b), 'late memory');
    memory.remove(ram);
    await dev.dmaSettled();
    await s.close();
    memory.close();
  });

  test('sections sliced from one block are mapped at their offsets: a copy crosses from one to the other', async () => {
    const memory = guestMemory();
    const block = memory.block(0x8000);
    // Two sections, far apart in the guest, out of order in the block.
    const low = memory.add({ iova: RAM, size: 0x1000, block, blockOffset: 0x6000 });
    const high = memory.add({ iova: RAM + 0x40000, size: 0x2000, block, blockOffset: 0x1000 });
    low.buffer.write('one block, two sections', 0x10);
    const s = await session(dmaEngineDevice(), options, memory);
    const { dev } = s;
    await dev.enableInterrupts('intx');
    const irqs = dev.interrupts();
    await startCopy(dev, RAM + 0x10, RAM + 0x40000 + 0x1800, 23, 0);
    await irqs.next();
    assert.is(high.buffer.toString('utf8', 0x1800, 0x1800 + 23), 'one block, two sections');
    assert.is(block.buffer.toString('utf8', 0x2800, 0x2800 + 23), 'one block, two sections', 'the bytes landed in the block at the slice');
    await s.close();
    memory.close();
  });

  test.run();
}

const traced = suite('dma-engine, traced by the server');

traced('onTrace sees the client socket and the twin socket, DMA requests included', async () => {
  const memory = guestMemory();
  const ram = memory.add({ iova: RAM, size: 0x10000 });
  ram.buffer.fill(7, 0, 0x100);
  const seen: TraceEvent[] = [];
  // Message-mode DMA with fds allowed: DMA_MAP carries no fd, the server opens the twin socket.
  const s = await session(dmaEngineDevice(), { dmaMode: 'message' }, memory, { onTrace: (e) => seen.push(e) });
  assert.ok(s.dev.twinSocket);
  await s.dev.enableInterrupts('msix');
  const irqs = s.dev.interrupts();
  await enableMsix(s.dev);
  await startCopy(s.dev, RAM, RAM + 0x1000, 0x100, 0);
  await irqs.next();
  assert.ok(ram.buffer.subarray(0x1000, 0x1100).equals(Buffer.alloc(0x100, 7)));
  const line = (e: TraceEvent) => `${e.direction} ${e.type} ${e.commandName}`;
  assert.equal(seen.slice(0, 2).map(line), ['in command VERSION', 'out reply VERSION']);
  const dma = seen.filter((e) => e.commandName.startsWith('DMA_READ') || e.commandName.startsWith('DMA_WRITE')).map(line);
  assert.equal(dma, ['out command DMA_READ', 'in reply DMA_READ', 'out command DMA_WRITE', 'in reply DMA_WRITE']);
  await s.close();
  memory.close();
});

traced.run();
