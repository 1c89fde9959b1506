import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { firstValueFrom } from 'rxjs';
import { guestMemory, openDevice, type ClientOptions, type Device, type Interrupt } from '../../src/client/index.js';
import { DmaReg, DmaStatus, dmaEngineDevice, ramDevice } from '../../src/samples/index.js';
import { native } from '../../src/native/index.js';
import type { TapMessage } from '../../src/tap/index.js';
import { key, tapped, until } from './fixtures.js';

const RAM = 0x100000;
const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};

/** One DMA copy with its completion interrupt, as the dma-engine spec does it. */
const copyWithInterrupt = async (dev: Device, ram: Buffer) => {
  const pattern = Buffer.from(Array.from({ length: 0x3000 }, (_, i) => (i * 7) & 0xff));
  pattern.copy(ram, 0);
  await dev.enableInterrupts('msix');
  const irqs = dev.interrupts();
  const cap = dev.config.capabilities.find((c) => c.kind === 'msix')!;
  await dev.region(7).write(cap.offset + 2, Buffer.from([0x00, 0x80]));
  const bar = dev.region(0);
  for (const [reg, v] of [[DmaReg.SRC_LO, RAM], [DmaReg.SRC_HI, 0], [DmaReg.DST_LO, RAM + 0x8000], [DmaReg.DST_HI, 0], [DmaReg.LEN, pattern.length], [DmaReg.VECTOR, 1], [DmaReg.DOORBELL, 1]] as const) {
    await bar.write(reg, u32(v));
  }
  const irq = (await irqs.next()).value as Interrupt;
  assert.equal([irq.type, irq.vector], ['msix', 1], 'the completion interrupt arrives through the tap');
  assert.is((await bar.read(DmaReg.STATUS, 4)).readUInt32LE() & (DmaStatus.DONE | DmaStatus.ERROR), DmaStatus.DONE);
  assert.ok(ram.subarray(0x8000, 0x8000 + pattern.length).equals(pattern), 'the copied bytes are in guest memory');
};

const configs: Readonly<Record<string, ClientOptions>> = {
  'fds (DMA through the mapping, twin socket)': { dmaMode: 'fd' },
  'message DMA over the twin socket': { dmaMode: 'message' },
  'no fds at all': { dmaMode: 'message', maxMsgFds: 0 },
};

const test = suite('tap between the project\'s client and server');

for (const [name, options] of Object.entries(configs)) {
  test(`passes every message and fd on unchanged, both ways: ${name}`, async () => {
    const t = await tapped(dmaEngineDevice());
    try {
      const clientKeys: string[] = [];
      const memory = guestMemory();
      const ram = memory.add({ iova: RAM, size: 0x10000 });
      const dev = await openDevice({ ...options, socketPath: t.tapPath, memory, onTrace: (e) => clientKeys.push(key(e)) });
      await copyWithInterrupt(dev, ram.buffer);
      await dev.close();
      const closed = await t.closed();
      assert.is(closed.by, 'client');
      await until(() => t.serverEvents.some((e) => e.kind === 'disconnected'), 'the server to see the client go');
      const sorted = (keys: readonly string[]) => [...keys].sort();
      assert.ok(clientKeys.length > 20, `a whole conversation (${clientKeys.length} messages)`);
      assert.equal(sorted(t.tapKeys), sorted(clientKeys), 'the tap saw what the client sent and received');
      assert.equal(sorted(t.serverKeys), sorted(clientKeys), 'the server received what the client sent, and the reverse');
      const messages = t.tapEvents.filter((e): e is TapMessage => e.kind === 'message');
      const twin = messages.filter((m) => m.link === 'twin');
      const dmaMessages = messages.filter((m) => m.commandName === 'DMA_READ' || m.commandName === 'DMA_WRITE');
      if (options.dmaMode === 'fd') assert.is(dmaMessages.length, 0, 'DMA went through the mapping');
      else assert.ok(dmaMessages.length >= 4, 'DMA went by messages');
      assert.is(twin.length > 0, options.dmaMode === 'message' && options.maxMsgFds !== 0, 'the twin socket is relayed exactly when negotiated');
      if (twin.length > 0) assert.ok(twin.every((m) => m.commandName.startsWith('DMA_')), 'only DMA travels on the twin socket');
    } finally {
      t.close();
    }
  });
}

test('describes each fd it passes on: memfd with its size, eventfd, socket', async () => {
  const t = await tapped(dmaEngineDevice());
  try {
    const memory = guestMemory();
    memory.add({ iova: RAM, size: 0x10000 });
    const dev = await openDevice({ dmaMode: 'fd', socketPath: t.tapPath, memory });
    await dev.enableInterrupts('msix');
    await dev.region(0).write(DmaReg.LEN, u32(4), { posted: false });
    await dev.close();
    await t.closed();
    const messages = t.tapEvents.filter((e): e is TapMessage => e.kind === 'message');
    const fdsOf = (command: string, type: 'command' | 'reply') =>
      messages.filter((m) => m.commandName === command && m.type === type).flatMap((m) => m.fdInfo.map((f) => f.kind));
    assert.equal(fdsOf('VERSION', 'reply'), ['socket'], 'the twin socket');
    assert.ok(fdsOf('DMA_MAP', 'command').length > 0 && fdsOf('DMA_MAP', 'command').every((k) => k === 'memfd'), 'guest memory');
    const map = messages.find((m) => m.commandName === 'DMA_MAP' && m.fdCount === 1)!;
    assert.equal(map.fdInfo[0], { kind: 'memfd', name: map.fdInfo[0]!.kind === 'memfd' ? map.fdInfo[0]!.name : '', size: 0x10000 });
    assert.ok(fdsOf('DEVICE_SET_IRQS', 'command').includes('eventfd'), 'interrupt eventfds');
    assert.ok(messages.every((m) => m.forwardedAt >= m.timestamp), 'forwarded after it came');
    const write = messages.find((m) => m.commandName === 'REGION_WRITE')!;
    assert.equal(Object.keys(write.fields), ['region', 'offset', 'count', 'data'], 'the payload is decoded');
  } finally {
    t.close();
  }
});

test('a client that closes closes the server side', async () => {
  const t = await tapped(dmaEngineDevice());
  try {
    const dev = await openDevice({ socketPath: t.tapPath });
    await dev.close();
    const closed = await t.closed();
    assert.is(closed.by, 'client');
    assert.is(closed.corrupt, false);
    assert.match(closed.reason, /the client closed the connection; the tap closed the server/);
    await until(() => t.serverEvents.some((e) => e.kind === 'disconnected'), 'the server to see the client go');
  } finally {
    t.close();
  }
});

test('a server that goes away closes the client side', async () => {
  const t = await tapped(dmaEngineDevice());
  try {
    const dev = await openDevice({ socketPath: t.tapPath });
    const ended = firstValueFrom(dev.rx.closed$);
    t.stopServer();
    const closed = await t.closed();
    assert.is(closed.by, 'server');
    assert.match(closed.reason, /the server (on the twin socket )?closed the connection; the tap closed the client/, closed.reason);
    assert.instance(await ended, Error, 'the client saw its connection end');
    await dev.close();
  } finally {
    t.close();
  }
});

test('serves the next client after one has gone (one upstream connection each)', async () => {
  const t = await tapped(dmaEngineDevice());
  try {
    for (let i = 0; i < 2; i++) {
      const dev = await openDevice({ socketPath: t.tapPath });
      assert.is(dev.config.vendorId, 0x1af4);
      await dev.close();
      await t.closed(i + 1);
      await until(() => t.serverEvents.filter((e) => e.kind === 'disconnected').length === i + 1, 'the server to see the client go');
    }
  } finally {
    t.close();
  }
});

test('passes large messages on whole (512 KiB region writes and reads, by message)', async () => {
  const t = await tapped(ramDevice(1 << 20));
  try {
    const clientKeys: string[] = [];
    // maxMsgFds 0: no region fd, so every access goes by REGION_READ/REGION_WRITE message.
    const dev = await openDevice({ socketPath: t.tapPath, maxMsgFds: 0, onTrace: (e) => clientKeys.push(key(e)) });
    const data = Buffer.from(Array.from({ length: 512 * 1024 }, (_, i) => (i * 31) & 0xff));
    await dev.region(2).write(0x1000, data, { posted: false });
    const back = await dev.region(2).read(0x1000, data.length);
    assert.ok(back.equals(data), 'the bytes came back');
    await dev.close();
    await t.closed();
    await until(() => t.serverKeys.length === clientKeys.length, 'the server trace to be complete');
    assert.equal([...t.serverKeys].sort(), [...clientKeys].sort());
    const sizes = t.tapEvents.flatMap((e) => (e.kind === 'message' && e.size > 0x10000 ? [e.commandName] : []));
    assert.ok(sizes.includes('REGION_WRITE') && sizes.includes('REGION_READ'), `large frames went through: ${sizes.join(' ')}`);
  } finally {
    t.close();
  }
});

test('with messages off it only forwards, and reports the end', async () => {
  const t = await tapped(dmaEngineDevice(), { messages: false });
  try {
    const dev = await openDevice({ socketPath: t.tapPath });
    assert.is(dev.config.vendorId, 0x1af4);
    await dev.close();
    await t.closed();
    assert.equal(t.tapEvents.map((e) => e.kind), ['listening', 'connected', 'closed']);
  } finally {
    t.close();
  }
});

test('leaves no fd open once a conversation with fds and a twin socket has ended', async () => {
  const before = native.openFdCount();
  const t = await tapped(dmaEngineDevice());
  const memory = guestMemory();
  memory.add({ iova: RAM, size: 0x10000 });
  const dev = await openDevice({ dmaMode: 'message', socketPath: t.tapPath, memory });
  await dev.enableInterrupts('msix');
  await dev.close();
  await t.closed();
  await until(() => t.serverEvents.some((e) => e.kind === 'disconnected'), 'the server to see the client go');
  t.close();
  memory.close?.();
  await until(() => native.openFdCount() <= before, `every fd closed (${native.openFdCount()} open, ${before} before)`);
});

test.run();
