// The DMA engine sample: copies through mapped and message-only guest memory, interrupts on completion.
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
import { Errno } from '../../src/protocol/errno.js';
import { encodeSetIrqsRequest } from '../../src/protocol/irq.js';
import { decodeRegionReadReply, encodeRegionReadRequest, encodeRegionWriteRequest } from '../../src/protocol/region-access.js';
import { eventfd$ } from '../../src/streams/eventfd.js';
import { MsixFlags, MsixReg } from '../../src/pci/index.js';
import { serve, testBed, type TestBed } from '../../src/server/index.js';
import { DMA_MAX_LENGTH, DmaReg, DmaStatus, dmaEngineDevice } from '../../src/samples/index.js';
import { connectClient, until } from '../server/socket-client.js';
import { migrateBeds } from './migrate.js';
import { fdsOpenedSince, openFds } from '../fixtures/fds.js';

const scheduler = () => new TestScheduler((actual, expected) => assert.equal(actual, expected));
const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};
/** SRC, DST and LEN in one write. */
const program = (src: number, dst: number, length: number) => Buffer.concat([u32(src), u32(0), u32(dst), u32(0), u32(length)]);
const msixControl = (device = dmaEngineDevice()) => device.config.layout.msix!.offset + MsixReg.FLAGS;
const ok = (command: string) => ({ kind: 'reply', command });

const registers = async (bed: TestBed, session: ReturnType<TestBed['open']>) => {
  const r = decodeRegionReadReply((await session.send(bed.req.regionRead(0, 0, 0x28))).payload).data!;
  return { status: r.readUInt32LE(DmaReg.STATUS), errno: r.readUInt32LE(DmaReg.ERRNO), completed: r.readUInt32LE(DmaReg.COMPLETED) };
};

// The doorbell's write runs to completion before its reply, as a libvfio-user callback does: the DMA
// requests the engine sends in that push go out first, and the completion's MSI-X after the reply.
test('in message mode a copy is DMA_READ then DMA_WRITE, the doorbell\'s reply, then MSI-X (enabled)', () => {
  const device = dmaEngineDevice();
  scheduler().run(({ hot, expectObservable }) => {
    const memory = Buffer.alloc(0x4000);
    memory.write('payload!', 0x1000);
    const bed = testBed(device, { memory });
    const { req } = bed;
    const input = hot('-m-i-e-p-d', {
      m: bed.map(0, 0x4000, 'message'),
      i: bed.irqs('msix', 0, 2),
      e: req.configWrite(msixControl(device), Buffer.from([0, MsixFlags.ENABLE >> 8])),
      p: req.regionWrite(0, DmaReg.SRC_LO, program(0x1000, 0x3000, 8)),
      d: req.regionWrite(0, DmaReg.DOORBELL, u32(1)),
    });
    expectObservable(bed.run(input)).toBe('-m-i-e-p-(RWdx)', {
      m: ok('DMA_MAP'),
      i: ok('DEVICE_SET_IRQS'),
      e: ok('REGION_WRITE'),
      p: ok('REGION_WRITE'),
      d: ok('REGION_WRITE'),
      R: { kind: 'dma-read', address: 0x1000, count: 8 },
      W: { kind: 'dma-write', address: 0x3000, data: Buffer.from('payload!').toString('hex') },
      x: { kind: 'irq', type: 'msix', vector: 0 },
    });
  });
});

test('through an fd mapping the copy sends no messages; without MSI-X enabled it raises INTx', async () => {
  const memory = Buffer.alloc(0x4000);
  memory.fill(0xcd, 0x0, 0x800);
  const bed = testBed(dmaEngineDevice(), { memory });
  const session = bed.open();
  await session.send(bed.map(0, 0x4000, 'fd'));
  await session.send(bed.irqs('intx', 0, 1));
  await session.send(bed.req.regionWrite(0, DmaReg.SRC_LO, program(0, 0x2000, 0x800)));
  await session.send(bed.req.regionWrite(0, DmaReg.DOORBELL, u32(1)));
  assert.ok(memory.subarray(0x2000, 0x2800).equals(Buffer.alloc(0x800, 0xcd)));
  assert.equal(session.outputs.filter((o) => o.kind !== 'reply'), [{ kind: 'irq', type: 'intx', vector: 0 }]);
  assert.equal(await registers(bed, session), { status: DmaStatus.DONE, errno: 0, completed: 1 });
  session.stop();
});

test('a copy from unmapped memory ends in ERROR with ERRNO EFAULT, and still interrupts', async () => {
  const bed = testBed(dmaEngineDevice());
  const session = bed.open();
  await session.send(bed.map(0, 0x1000, 'fd'));
  await session.send(bed.irqs('intx', 0, 1));
  await session.send(bed.req.regionWrite(0, DmaReg.SRC_LO, program(0x8000, 0, 16)));
  await session.send(bed.req.regionWrite(0, DmaReg.DOORBELL, u32(1)));
  assert.equal(await registers(bed, session), { status: DmaStatus.ERROR, errno: Errno.EFAULT, completed: 0 });
  assert.is(session.outputs.filter((o) => o.kind === 'irq').length, 1);
  session.stop();
});

test('a copy longer than 1 MiB ends in ERROR with ERRNO EINVAL; STATUS bits are write-1-to-clear', async () => {
  const bed = testBed(dmaEngineDevice());
  const session = bed.open();
  await session.send(bed.req.regionWrite(0, DmaReg.SRC_LO, program(0, 0, DMA_MAX_LENGTH + 1)));
  await session.send(bed.req.regionWrite(0, DmaReg.DOORBELL, u32(1)));
  assert.equal(await registers(bed, session), { status: DmaStatus.ERROR, errno: Errno.EINVAL, completed: 0 });
  await session.send(bed.req.regionWrite(0, DmaReg.STATUS, u32(DmaStatus.ERROR)));
  assert.is((await registers(bed, session)).status, 0);
  session.stop();
});

test('VECTOR selects the MSI-X vector; DEVICE_RESET clears the registers', async () => {
  const device = dmaEngineDevice();
  const bed = testBed(device);
  const session = bed.open();
  await session.send(bed.map(0, 0x2000, 'message'));
  await session.send(bed.irqs('msix', 0, 2));
  await session.send(bed.req.configWrite(msixControl(device), Buffer.from([0, MsixFlags.ENABLE >> 8])));
  await session.send(bed.req.regionWrite(0, DmaReg.VECTOR, u32(1)));
  await session.send(bed.req.regionWrite(0, DmaReg.SRC_LO, program(0, 0x1000, 4)));
  await session.send(bed.req.regionWrite(0, DmaReg.DOORBELL, u32(1)));
  assert.equal(session.outputs.filter((o) => o.kind === 'irq'), [{ kind: 'irq', type: 'msix', vector: 1 }]);
  await session.send(bed.req.reset());
  assert.equal(await registers(bed, session), { status: 0, errno: 0, completed: 0 });
  session.stop();
});

for (const mode of ['fd', 'message', 'message over a twin socket'] as const) {
  test(`over a socket, DMA_MAP ${mode === 'fd' ? 'with a memfd' : `without fd (${mode})`}: copies and signals MSI-X`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vfu-dma-'));
    const path = join(dir, 'sock');
    const fds = openFds();
    const device = dmaEngineDevice();
    const sub = serve(device, { socketPath: path }).subscribe();
    const size = 0x40000;
    const memfd = mode === 'fd' ? native.memfd('guest', size) : undefined;
    const mapping = memfd === undefined ? undefined : native.mmap(memfd, 0, size, 'rw');
    const memory = mapping ? Buffer.from(mapping) : Buffer.alloc(size);
    for (let i = 0; i < 0x10000; i++) memory[i] = i & 0xff;
    const twin = mode === 'message over a twin socket';
    const client = await connectClient(path, { memory, caps: { max_msg_fds: 8, max_data_xfer_size: 16384, ...(twin ? { twin_socket: { supported: true } } : {}) } });
    assert.is(client.twin, twin);
    await client.request(Command.DMA_MAP, encodeDmaMapRequest({ flags: 3, offset: 0, address: 0, size }), memfd === undefined ? [] : [memfd]);
    if (memfd !== undefined) native.close(memfd);
    const efd = native.eventfd();
    await client.request(Command.DEVICE_SET_IRQS, encodeSetIrqsRequest({ flags: IrqSetFlags.DATA_EVENTFD | IrqSetFlags.ACTION_TRIGGER, index: PciIrq.MSIX, start: 0, count: 1 }), [efd]);
    await client.request(Command.REGION_WRITE, encodeRegionWriteRequest({ offset: msixControl(device), region: 7, data: Buffer.from([0, 0x80]) }));
    await client.request(Command.REGION_WRITE, encodeRegionWriteRequest({ offset: DmaReg.SRC_LO, region: 0, data: program(0, 0x20000, 0x10000) }));
    const signalled = firstValueFrom(eventfd$(native, efd));
    await client.request(Command.REGION_WRITE, encodeRegionWriteRequest({ offset: DmaReg.DOORBELL, region: 0, data: u32(1) }));
    assert.is(await signalled, 1n);
    assert.ok(memory.subarray(0x20000, 0x30000).equals(memory.subarray(0, 0x10000)));
    const st = await client.request(Command.REGION_READ, encodeRegionReadRequest({ offset: DmaReg.STATUS, region: 0, count: 4 }));
    assert.is(decodeRegionReadReply(st.payload).data?.readUInt32LE(0), DmaStatus.DONE);
    const messages = client.dma.map((d) => `${d.command}@${d.socket}`);
    if (mode === 'fd') assert.equal(messages, []);
    else assert.equal(messages, [...Array(4).fill(`DMA_READ@${twin ? 'twin' : 'main'}`), ...Array(4).fill(`DMA_WRITE@${twin ? 'twin' : 'main'}`)]);
    client.close();
    native.close(efd);
    if (mapping) native.munmap(mapping);
    sub.unsubscribe();
    await until(() => fdsOpenedSince(fds).length === 0);
    rmSync(dir, { recursive: true, force: true });
  });
}

test('migrates its registers; stopping waits for the copy in flight to finish (no DMA once stopped)', async () => {
  const memory = Buffer.alloc(0x4000);
  memory.write('migrated', 0x100);
  const a = testBed(dmaEngineDevice(), { memory });
  const sa = a.open();
  await sa.send(a.map(0, 0x4000, 'message'));
  await sa.send(a.req.regionWrite(0, DmaReg.SRC_LO, program(0x100, 0x2000, 8)));
  await sa.send(a.req.regionWrite(0, DmaReg.VECTOR, u32(1)));
  // A copy by message is in flight (its DMA_READ/DMA_WRITE wait for the mock client) when STOP_COPY comes.
  await sa.send(a.req.regionWrite(0, DmaReg.DOORBELL, u32(1)));
  const b = testBed(dmaEngineDevice());
  const sb = b.open();
  await migrateBeds({ bed: a, session: sa }, { bed: b, session: sb });
  assert.is(memory.toString('utf8', 0x2000, 0x2008), 'migrated', 'the copy finished before the device stopped');
  const after = await registers(b, sb);
  assert.equal(after, { status: DmaStatus.DONE, errno: 0, completed: 1 });
  const vector = decodeRegionReadReply((await sb.send(b.req.regionRead(0, DmaReg.VECTOR, 4))).payload).data!.readUInt32LE(0);
  assert.is(vector, 1);
  sa.stop();
  sb.stop();
});

test.run();
