// The NVMe controller's register fold on the test bed: marble diagrams of what a doorbell sets off,
// and step-by-step checks of enable, reset, full completion queues, masks and errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestScheduler } from 'rxjs/testing';
import { testBed, type MockSession, type TestBed } from '../../../src/server/index.js';
import { nvme, nvmeDevice } from '../../../src/samples/index.js';
import { decodeRegionReadReply } from '../../../src/protocol/region-access.js';
import { DeviceState } from '../../../src/protocol/constants.js';
import { Errno } from '../../../src/protocol/errno.js';
import { MIG_WRITE_CHUNK, migrateBeds } from '../migrate.js';

const { AdminOpcode, AsyncEventInfo, AsyncEventType, Csts, LogPage, NvmeReg, decodeCompletion, doorbellOffset, encodeSubmission } = nvme;

const scheduler = () => new TestScheduler((actual, expected) => assert.equal(actual, expected));
const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};
const ok = (command: string) => ({ kind: 'reply', command });

const ASQ = 0x1000;
const ACQ = 0x2000;
const DATA = 0x3000;
/** CC: EN with 64-byte submission and 16-byte completion entries. */
const CC_ENABLE = 1 | (6 << 16) | (4 << 20);

/** The writes that enable the controller with admin queues of `entries`. */
const enableWrites = (bed: TestBed, entries: number) => [
  bed.req.regionWrite(0, NvmeReg.AQA, u32(((entries - 1) << 16) | (entries - 1))),
  bed.req.regionWrite(0, NvmeReg.ASQ_LO, u32(ASQ)),
  bed.req.regionWrite(0, NvmeReg.ACQ_LO, u32(ACQ)),
  bed.req.regionWrite(0, NvmeReg.CC, u32(CC_ENABLE)),
];

const reg = async (bed: TestBed, s: MockSession, offset: number) => decodeRegionReadReply((await s.send(bed.req.regionRead(0, offset, 4))).payload).data!.readUInt32LE(0);
const write = (bed: TestBed, s: MockSession, offset: number, value: number) => s.send(bed.req.regionWrite(0, offset, u32(value)));

/** A test bed with fd-mapped memory and INTx, the controller enabled with admin queues of `entries`. */
const enabled = async (entries: number) => {
  const device = nvmeDevice({ size: 1 << 20 });
  const memory = Buffer.alloc(0x10000);
  const bed = testBed(device, { memory });
  const s = bed.open();
  await s.send(bed.map(0, 0x10000, 'fd'));
  await s.send(bed.irqs('intx', 0, 1));
  for (const w of enableWrites(bed, entries)) await s.send(w);
  let tail = 0;
  const submit = async (cmd: Parameters<typeof encodeSubmission>[0]) => {
    encodeSubmission(cmd).copy(memory, ASQ + tail * 64);
    tail = (tail + 1) % entries;
    await write(bed, s, doorbellOffset(0, false), tail);
  };
  const completion = (slot: number) => decodeCompletion(memory.subarray(ACQ + slot * 16, ACQ + slot * 16 + 16));
  const irqs = () => s.outputs.filter((o) => o.kind === 'irq').length;
  return { device, memory, bed, s, submit, completion, irqs, done: () => (s.stop(), device.close()) };
};

test('an Identify by message: the entry read, the data and the completion written, the doorbell answered, then INTx', async () => {
  // What Identify Controller writes, from a controller reached through an fd mapping.
  const fd = await enabled(4);
  await fd.submit({ opcode: AdminOpcode.IDENTIFY, cid: 9, prp1: DATA, cdw: [1, 0, 0, 0, 0, 0] });
  const identify = fd.memory.subarray(DATA, DATA + 4096).toString('hex');
  const cqe = fd.memory.subarray(ACQ, ACQ + 16).toString('hex');
  fd.done();
  const device = nvmeDevice({ size: 1 << 20 });
  scheduler().run(({ hot, expectObservable }) => {
    const memory = Buffer.alloc(0x10000);
    encodeSubmission({ opcode: AdminOpcode.IDENTIFY, cid: 9, prp1: DATA, cdw: [1, 0, 0, 0, 0, 0] }).copy(memory, ASQ);
    const bed = testBed(device, { memory });
    const [aqa, asq, acq, cc] = enableWrites(bed, 4);
    const input = hot('-m-i-a-s-c-e-d', {
      m: bed.map(0, 0x10000, 'message'),
      i: bed.irqs('intx', 0, 1),
      a: aqa,
      s: asq,
      c: acq,
      e: cc,
      d: bed.req.regionWrite(0, doorbellOffset(0, false), u32(1)),
    });
    // The work a doorbell starts runs within its push, before the reply, as the framework's handlers do.
    expectObservable(bed.run(input)).toBe('-m-i-a-s-c-e-(RWCdx)', {
      m: ok('DMA_MAP'),
      i: ok('DEVICE_SET_IRQS'),
      a: ok('REGION_WRITE'),
      s: ok('REGION_WRITE'),
      c: ok('REGION_WRITE'),
      e: ok('REGION_WRITE'),
      d: ok('REGION_WRITE'),
      R: { kind: 'dma-read', address: ASQ, count: 64 },
      W: { kind: 'dma-write', address: DATA, data: identify },
      C: { kind: 'dma-write', address: ACQ, data: cqe },
      x: { kind: 'irq', type: 'intx', vector: 0 },
    });
  });
  assert.equal(decodeCompletion(Buffer.from(cqe, 'hex')), { dw0: 0, sqHead: 1, sqId: 0, cid: 9, phase: 1, status: { sc: 0, sct: 0, dnr: false } });
  device.close();
});

test('through an fd mapping a doorbell sends no message: the completion is in memory and INTx raised within its push', () => {
  const device = nvmeDevice({ size: 1 << 20 });
  const memory = Buffer.alloc(0x10000);
  encodeSubmission({ opcode: AdminOpcode.KEEP_ALIVE, cid: 3 }).copy(memory, ASQ);
  scheduler().run(({ hot, expectObservable }) => {
    const bed = testBed(device, { memory });
    const [aqa, asq, acq, cc] = enableWrites(bed, 4);
    const input = hot('-m-i-(asce)-d', { m: bed.map(0, 0x10000, 'fd'), i: bed.irqs('intx', 0, 1), a: aqa, s: asq, c: acq, e: cc, d: bed.req.regionWrite(0, doorbellOffset(0, false), u32(1)) });
    expectObservable(bed.run(input)).toBe('-m-i-(asce)-(dx)', {
      m: ok('DMA_MAP'),
      i: ok('DEVICE_SET_IRQS'),
      a: ok('REGION_WRITE'),
      s: ok('REGION_WRITE'),
      c: ok('REGION_WRITE'),
      e: ok('REGION_WRITE'),
      d: ok('REGION_WRITE'),
      x: { kind: 'irq', type: 'intx', vector: 0 },
    });
  });
  assert.equal(decodeCompletion(memory.subarray(ACQ, ACQ + 16)), { dw0: 0, sqHead: 1, sqId: 0, cid: 3, phase: 1, status: { sc: 0, sct: 0, dnr: false } });
  device.close();
});

test('enable sets RDY; a disable with nothing in flight clears it at once; INTMS and INTMC keep one mask', async () => {
  const t = await enabled(4);
  assert.is((await reg(t.bed, t.s, NvmeReg.CSTS)) & Csts.RDY, Csts.RDY);
  await write(t.bed, t.s, NvmeReg.INTMS, 0x5);
  assert.equal([await reg(t.bed, t.s, NvmeReg.INTMS), await reg(t.bed, t.s, NvmeReg.INTMC)], [0x5, 0x5]);
  await write(t.bed, t.s, NvmeReg.INTMC, 0x4);
  assert.equal([await reg(t.bed, t.s, NvmeReg.INTMS), await reg(t.bed, t.s, NvmeReg.INTMC)], [0x1, 0x1]);
  await write(t.bed, t.s, NvmeReg.CC, CC_ENABLE & ~1);
  assert.is(await reg(t.bed, t.s, NvmeReg.CSTS), 0);
  assert.is(await reg(t.bed, t.s, NvmeReg.INTMS), 0, 'a controller reset clears the mask');
  t.done();
});

test('an unusable admin configuration is fatal (CFS), and a page size the controller lacks too', async () => {
  const device = nvmeDevice({ size: 1 << 20 });
  const bed = testBed(device);
  const s = bed.open();
  await write(bed, s, NvmeReg.AQA, 0); // one-entry queues
  await write(bed, s, NvmeReg.CC, CC_ENABLE);
  assert.is(await reg(bed, s, NvmeReg.CSTS), Csts.CFS);
  await write(bed, s, NvmeReg.CC, 0);
  assert.is(await reg(bed, s, NvmeReg.CSTS), 0, 'a controller reset clears CFS');
  await write(bed, s, NvmeReg.AQA, 0x00030003);
  await write(bed, s, NvmeReg.CC, CC_ENABLE | (1 << 7)); // MPS 8 KiB
  assert.is(await reg(bed, s, NvmeReg.CSTS), Csts.CFS);
  s.stop();
  device.close();
});

test('a full completion queue holds completions until the host moves its head', async () => {
  // Admin queues of 2 entries: the completion queue holds one entry at a time.
  const t = await enabled(2);
  await t.submit({ opcode: AdminOpcode.KEEP_ALIVE, cid: 1 });
  assert.is(t.completion(0).cid, 1);
  await t.submit({ opcode: AdminOpcode.KEEP_ALIVE, cid: 2 });
  assert.is(t.completion(1).phase, 0, 'no room: nothing written yet');
  await write(t.bed, t.s, doorbellOffset(0, true), 1);
  assert.equal([t.completion(1).cid, t.completion(1).phase], [2, 1]);
  await t.submit({ opcode: AdminOpcode.KEEP_ALIVE, cid: 3 });
  await write(t.bed, t.s, doorbellOffset(0, true), 0);
  assert.equal([t.completion(0).cid, t.completion(0).phase], [3, 0], 'the second pass writes phase 0');
  t.done();
});

test('a doorbell of a queue that does not exist, or beyond a queue, is an error event for an outstanding request', async () => {
  const t = await enabled(8);
  await t.submit({ opcode: AdminOpcode.ASYNC_EVENT_REQUEST, cid: 40 });
  assert.is(t.completion(0).phase, 0, 'the request stays outstanding');
  await write(t.bed, t.s, doorbellOffset(5, false), 1);
  const event = t.completion(0);
  assert.equal([event.cid, event.dw0], [40, AsyncEventType.ERROR | (AsyncEventInfo.INVALID_DOORBELL_REGISTER << 8) | (LogPage.ERROR << 16)]);
  // The error log's events are masked until the host reads it: a second bad doorbell waits.
  await t.submit({ opcode: AdminOpcode.ASYNC_EVENT_REQUEST, cid: 41 });
  await write(t.bed, t.s, doorbellOffset(0, false), 100);
  assert.is(t.completion(1).phase, 0);
  await t.submit({ opcode: AdminOpcode.GET_LOG_PAGE, cid: 42, nsid: 0xffffffff, prp1: DATA, cdw: [LogPage.ERROR | (15 << 16), 0, 0, 0, 0, 0] });
  const [second, read] = [t.completion(1), t.completion(2)];
  assert.equal([second.cid, read.cid], [41, 42], 'reading the log lets the waiting event through');
  assert.is(second.dw0 >>> 8 & 0xff, AsyncEventInfo.INVALID_DOORBELL_VALUE);
  t.done();
});

test('INTx masked by INTMS is raised when INTMC unmasks it with entries waiting', async () => {
  const t = await enabled(4);
  await write(t.bed, t.s, NvmeReg.INTMS, 1);
  await t.submit({ opcode: AdminOpcode.KEEP_ALIVE, cid: 1 });
  assert.is(t.completion(0).cid, 1);
  assert.is(t.irqs(), 0);
  await write(t.bed, t.s, NvmeReg.INTMC, 1);
  assert.is(t.irqs(), 1);
  t.done();
});

test('DEVICE_RESET: registers at reset values, no queues; the controller can be enabled again', async () => {
  const t = await enabled(4);
  await t.s.send(t.bed.req.reset());
  assert.equal([await reg(t.bed, t.s, NvmeReg.CSTS), await reg(t.bed, t.s, NvmeReg.AQA), await reg(t.bed, t.s, NvmeReg.CC)], [0, 0, 0]);
  for (const w of enableWrites(t.bed, 4)) await t.s.send(w);
  encodeSubmission({ opcode: AdminOpcode.KEEP_ALIVE, cid: 77 }).copy(t.memory, ASQ);
  t.memory.fill(0, ACQ, ACQ + 64);
  await write(t.bed, t.s, doorbellOffset(0, false), 1);
  assert.is(t.completion(0).cid, 77);
  t.done();
});

test('migration between test beds: queues, completions and the namespace arrive; a state that is not the controller\'s is refused', async () => {
  const t = await enabled(4);
  await t.submit({ opcode: AdminOpcode.KEEP_ALIVE, cid: 1 });
  const dest = nvmeDevice({ size: 1 << 20 });
  const bed = testBed(dest, { memory: t.memory });
  const s = bed.open();
  await s.send(bed.map(0, 0x10000, 'fd'));
  await s.send(bed.irqs('intx', 0, 1));
  const data = await migrateBeds({ bed: t.bed, session: t.s }, { bed, session: s });
  assert.ok(data.length > 1 << 20, 'the namespace in memory goes with the state');
  // The destination goes on from the source's queue positions: the next entry is slot 1, phase 1.
  encodeSubmission({ opcode: AdminOpcode.KEEP_ALIVE, cid: 2 }).copy(t.memory, ASQ + 64);
  await write(bed, s, doorbellOffset(0, false), 2);
  assert.equal([t.completion(1).cid, t.completion(1).phase, t.completion(1).sqHead], [2, 1, 2]);
  // A destination refuses data that is not a controller state, or one of another namespace size.
  const other = nvmeDevice({ size: 2 << 20 });
  const otherBed = testBed(other);
  const os = otherBed.open();
  await os.send(otherBed.req.setMigState(DeviceState.RESUMING));
  for (let at = 0; at < data.length; at += MIG_WRITE_CHUNK) await os.send(otherBed.req.migDataWrite(data.subarray(at, at + MIG_WRITE_CHUNK)));
  const refused = await os.send(otherBed.req.setMigState(DeviceState.RUNNING));
  assert.is(refused.header.error, Errno.EINVAL);
  os.stop();
  other.close();
  s.stop();
  dest.close();
  t.done();
});

test.run();
