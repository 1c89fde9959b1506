// The NVMe controller driven by a host written over the project's client, with fds and by messages.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { guestMemory, migrateDevices } from '../../src/client/index.js';
import { Subject, concatMap, take } from 'rxjs';
import { nvme, nvmeDevice, type NvmeOptions } from '../../src/samples/index.js';
import { nvmeHost, type HostOptions } from '../fixtures/nvme-host.js';
import { modes, session } from './harness.js';

const { memoryStore, AdminOpcode, AsyncEventType, AsyncEventInfo, Cns, CommandStatus, Csts, FeatureId, GenericStatus, IoOpcode, LogPage, NvmeReg } = nvme;
const RAM = 0x100000;
const RAM_SIZE = 4 << 20;

const pattern = (length: number, seed: number) => Buffer.from(Array.from({ length }, (_, i) => (i * 31 + seed * 7 + (i >> 9)) & 0xff));
type BlockStore = nvme.BlockStore;
const ascii = (b: Buffer, at: number, n: number) => b.toString('ascii', at, at + n).trimEnd();

/** A served controller, a client on it, and a host over the client (started and enabled). */
const setUp = async (options: (typeof modes)['fd'], device: NvmeOptions = {}, hostOptions: HostOptions = {}) => {
  const memory = guestMemory();
  const ram = memory.add({ iova: RAM, size: RAM_SIZE });
  const controller = nvmeDevice({ size: 8 << 20, ...device });
  const s = await session(controller, options, memory);
  const host = nvmeHost(s.dev, { iova: RAM, buffer: ram.buffer }, hostOptions);
  await host.start();
  await host.enable();
  return {
    host,
    dev: s.dev,
    controller,
    close: async () => {
      host.stop();
      await s.close();
      controller.close();
      memory.close();
    },
  };
};

for (const [mode, options] of Object.entries(modes)) {
  const test = suite(`nvme, ${mode} mode`);

  test('enable, identify the controller and its namespace', async () => {
    const t = await setUp(options);
    try {
      const { host } = t;
      assert.is((await host.reg(NvmeReg.VS)) >>> 0, 0x00010400);
      const ctrl = await host.identify(Cns.CONTROLLER);
      assert.is(ctrl.readUInt16LE(0), 0x1af4);
      assert.is(ascii(ctrl, 4, 20), 'vfio-user-rx-mem');
      assert.is(ascii(ctrl, 24, 40), 'vfio-user-rx NVMe controller');
      assert.is(ctrl[77], 5, 'MDTS: 32 pages');
      assert.is(ctrl.readUInt32LE(516), 1, 'one namespace');
      assert.is(ctrl[512], 0x66);
      assert.is(ctrl[513], 0x44);
      const ns = await host.identify(Cns.NAMESPACE, 1);
      assert.is(Number(ns.readBigUInt64LE(0)), (8 << 20) / 512, 'NSZE in 512-byte blocks');
      assert.is(ns[130], 9, 'LBA format 0: 512-byte blocks');
      const list = await host.identify(Cns.ACTIVE_NAMESPACES, 0);
      assert.equal([list.readUInt32LE(0), list.readUInt32LE(4)], [1, 0]);
      const descriptors = await host.identify(Cns.NAMESPACE_DESCRIPTORS, 1);
      assert.equal([descriptors[0], descriptors[1]], [2, 16], 'NGUID first');
      assert.ok(descriptors.subarray(4, 20).equals(ns.subarray(104, 120)), 'the NGUID of Identify Namespace');
      // An unknown CNS and a namespace that does not exist.
      const badCns = await host.submit(0, { opcode: AdminOpcode.IDENTIFY, prp1: RAM, cdw: [0x7f, 0, 0, 0, 0, 0] });
      assert.equal([badCns.status.sct, badCns.status.sc], [0, GenericStatus.INVALID_FIELD]);
      const badNs = await host.submit(0, { opcode: AdminOpcode.IDENTIFY, nsid: 2, prp1: RAM, cdw: [Cns.NAMESPACE, 0, 0, 0, 0, 0] });
      assert.is(badNs.status.sc, GenericStatus.INVALID_NAMESPACE);
    } finally {
      await t.close();
    }
  });

  test('I/O queues on their own MSI-X vectors; writes and reads back through PRP lists that cross and chain pages', async () => {
    const t = await setUp(options);
    try {
      const { host } = t;
      assert.equal(await host.setQueues(2), { sq: 2, cq: 2 });
      await host.createQueuePair(1, 32, 1);
      await host.createQueuePair(2, 32, 2);
      const before = host.interrupts.length;
      // 64 KiB from an offset into the first page, pages scattered (each its own PRP), the list chaining.
      const data = pattern(0x10000, 1);
      const w = await host.write(1, 100, data, { offset: 0x200, scatter: true, listOffset: 16 });
      assert.equal(w.status, { sct: 0, sc: 0, dnr: false });
      const r = await host.read(2, 100, data.length, { offset: 0x400, scatter: true });
      assert.equal(r.completion.status.sc, 0);
      assert.ok(r.data.equals(data), 'read back what was written');
      // Each queue's completion came on its own vector.
      const vectors = host.interrupts.slice(before).map((i) => `${i.type}:${i.vector}`);
      assert.ok(vectors.includes('msix:1') && vectors.includes('msix:2'), vectors.join(' '));
      // Two pages exactly: PRP2 is the second page.
      const two = pattern(8192, 2);
      await host.write(1, 0, two);
      assert.ok((await host.read(1, 0, 8192)).data.equals(two));
      // Many at once: queue depth 24, completions in any order, each to its command.
      const writes = await Promise.all(Array.from({ length: 24 }, (_, i) => host.write(1 + (i % 2), 1000 + i * 8, pattern(4096, i))));
      assert.ok(writes.every((c) => c.status.sc === 0));
      const reads = await Promise.all(Array.from({ length: 24 }, (_, i) => host.read(1 + (i % 2), 1000 + i * 8, 4096)));
      assert.ok(reads.every((x, i) => x.data.equals(pattern(4096, i))));
      await host.deleteQueuePair(2);
      await host.deleteQueuePair(1);
    } finally {
      await t.close();
    }
  });

  test('errors: LBA out of range, invalid namespace, opcode and field, bad queue ids; the error log has them', async () => {
    const t = await setUp(options);
    try {
      const { host } = t;
      await host.createQueuePair(1, 8, 1);
      const blocks = (8 << 20) / 512;
      const outside = await host.write(1, blocks - 1, Buffer.alloc(1024));
      assert.equal([outside.status.sct, outside.status.sc, outside.status.dnr], [0, GenericStatus.LBA_OUT_OF_RANGE, true]);
      const badNs = await host.submit(1, { opcode: IoOpcode.READ, nsid: 7, prp1: RAM, cdw: [0, 0, 0, 0, 0, 0] });
      assert.is(badNs.status.sc, GenericStatus.INVALID_NAMESPACE);
      const badOp = await host.submit(1, { opcode: 0x7e, nsid: 1 });
      assert.is(badOp.status.sc, GenericStatus.INVALID_OPCODE);
      const tooLong = await host.submit(1, { opcode: IoOpcode.READ, nsid: 1, prp1: RAM, cdw: [0, 0, 511, 0, 0, 0] });
      assert.is(tooLong.status.sc, GenericStatus.INVALID_FIELD, 'beyond MDTS');
      const misaligned = await host.submit(1, { opcode: IoOpcode.READ, nsid: 1, prp1: RAM + 2, cdw: [0, 0, 0, 0, 0, 0] });
      assert.is(misaligned.status.sc, GenericStatus.PRP_OFFSET_INVALID);
      const adminOp = await host.submit(0, { opcode: 0x7f });
      assert.is(adminOp.status.sc, GenericStatus.INVALID_OPCODE);
      const noCq = await host.submit(0, { opcode: AdminOpcode.CREATE_IO_SQ, prp1: RAM, cdw: [2 | (7 << 16), 1 | (5 << 16), 0, 0, 0, 0] });
      assert.equal([noCq.status.sct, noCq.status.sc], [1, CommandStatus.COMPLETION_QUEUE_INVALID]);
      const dupCq = await host.submit(0, { opcode: AdminOpcode.CREATE_IO_CQ, prp1: RAM, cdw: [1 | (7 << 16), 1, 0, 0, 0, 0] });
      assert.equal([dupCq.status.sct, dupCq.status.sc], [1, CommandStatus.INVALID_QUEUE_IDENTIFIER]);
      const busyCq = await host.submit(0, { opcode: AdminOpcode.DELETE_IO_CQ, cdw: [1, 0, 0, 0, 0, 0] });
      assert.equal([busyCq.status.sct, busyCq.status.sc], [1, CommandStatus.INVALID_QUEUE_DELETION]);
      const log = await host.logPage(LogPage.ERROR, 4 * 64);
      const counts = [0, 1, 2, 3].map((i) => Number(log.readBigUInt64LE(i * 64)));
      assert.equal(counts, [9, 8, 7, 6], 'newest first');
      assert.is(log.readUInt16LE(8), 0, 'the newest on the admin queue');
      const health = await host.logPage(LogPage.HEALTH, 512);
      assert.is(Number(health.readBigUInt64LE(176)), 9, 'error log entries in SMART');
    } finally {
      await t.close();
    }
  });

  test('controller reset with commands in flight: RDY stays until they end, and their completions are dropped', async () => {
    // A store whose writes wait until the test lets them go: every command is in flight when EN clears.
    const held = new Subject<void>();
    const inner = memoryStore(8 << 20);
    let holding = true;
    const store: BlockStore = { ...inner, write: (offset, data) => (holding ? held.pipe(take(1), concatMap(() => inner.write(offset, data))) : inner.write(offset, data)) };
    const t = await setUp(options, { store, size: undefined });
    try {
      const { host } = t;
      await host.createQueuePair(1, 64, 1);
      const inflight = Array.from({ length: 48 }, (_, i) => host.write(1, i * 8, pattern(4096, i)));
      void inflight;
      await host.reg(NvmeReg.CSTS);
      assert.is(host.outstanding, 48);
      await host.setReg(NvmeReg.CC, (await host.reg(NvmeReg.CC)) & ~1);
      assert.is((await host.reg(NvmeReg.CSTS)) & Csts.RDY, Csts.RDY, 'RDY stays while commands run');
      holding = false;
      held.next();
      await host.disable();
      await new Promise((r) => setTimeout(r, 20));
      host.reap();
      assert.is(host.outstanding, 48, 'the commands cut off by the reset never complete');
      // Enabled again, it starts afresh: no I/O queues, features at their defaults.
      await host.enable();
      const missing = await host.submit(0, { opcode: AdminOpcode.DELETE_IO_SQ, cdw: [1, 0, 0, 0, 0, 0] });
      assert.is(missing.status.sc, CommandStatus.INVALID_QUEUE_IDENTIFIER);
      await host.createQueuePair(1, 16, 1);
      const data = pattern(4096, 99);
      await host.write(1, 7, data);
      assert.ok((await host.read(1, 7, 4096)).data.equals(data));
    } finally {
      await t.close();
    }
  });

  test('asynchronous events: a temperature threshold below the composite temperature completes the outstanding request', async () => {
    const t = await setUp(options);
    try {
      const { host } = t;
      const aer = host.submit(0, { opcode: AdminOpcode.ASYNC_EVENT_REQUEST });
      await host.run(0, { opcode: AdminOpcode.SET_FEATURES, cdw: [FeatureId.ASYNC_EVENT_CONFIG, 0x2, 0, 0, 0, 0] });
      await host.run(0, { opcode: AdminOpcode.SET_FEATURES, cdw: [FeatureId.TEMPERATURE_THRESHOLD, 300, 0, 0, 0, 0] });
      const event = await aer;
      assert.is(event.dw0, AsyncEventType.HEALTH | (AsyncEventInfo.TEMPERATURE_THRESHOLD << 8) | (LogPage.HEALTH << 16));
      const health = await host.logPage(LogPage.HEALTH, 512);
      assert.is(health[0], 0x2, 'critical warning: temperature');
      assert.is(health.readUInt16LE(1), 313);
      const threshold = await host.run(0, { opcode: AdminOpcode.GET_FEATURES, cdw: [FeatureId.TEMPERATURE_THRESHOLD, 0, 0, 0, 0, 0] });
      assert.is(threshold.dw0 & 0xffff, 300);
      // A second request stays outstanding; Abort takes it back.
      const second = host.submit(0, { opcode: AdminOpcode.ASYNC_EVENT_REQUEST });
      const secondCid = host.lastCid;
      await new Promise((r) => setTimeout(r, 20));
      assert.is(host.outstanding, 1);
      const abort = await host.run(0, { opcode: AdminOpcode.ABORT, cdw: [(secondCid << 16) >>> 0, 0, 0, 0, 0, 0] });
      assert.is(abort.dw0 & 1, 0, 'aborted');
      assert.is((await second).status.sc, GenericStatus.ABORTED_BY_REQUEST);
    } finally {
      await t.close();
    }
  });

  test('Write Zeroes and Dataset Management deallocate read back as zeros; Flush; shutdown completes', async () => {
    const t = await setUp(options);
    try {
      const { host } = t;
      await host.createQueuePair(1, 16, 1);
      await host.write(1, 0, pattern(16384, 5));
      await host.run(1, { opcode: IoOpcode.WRITE_ZEROES, nsid: 1, cdw: [0, 0, 7, 0, 0, 0] });
      const ranges = host.buffer(32);
      const list = Buffer.alloc(32);
      list.writeUInt32LE(8, 4);
      list.writeBigUInt64LE(16n, 8);
      list.writeUInt32LE(1, 16 + 4);
      list.writeBigUInt64LE(30n, 16 + 8);
      ranges.copyIn(list);
      await host.run(1, { opcode: IoOpcode.DATASET_MANAGEMENT, nsid: 1, prp1: ranges.prp1, cdw: [1, 0x4, 0, 0, 0, 0] });
      const after = (await host.read(1, 0, 16384)).data;
      const expected = pattern(16384, 5);
      expected.fill(0, 0, 8 * 512);
      expected.fill(0, 16 * 512, 24 * 512);
      expected.fill(0, 30 * 512, 31 * 512);
      assert.ok(after.equals(expected));
      await host.run(1, { opcode: IoOpcode.FLUSH, nsid: 1 });
      await host.setReg(NvmeReg.CC, (await host.reg(NvmeReg.CC)) | (1 << 14));
      const until = Date.now() + 5000;
      while (((await host.reg(NvmeReg.CSTS)) & Csts.SHST_MASK) !== Csts.SHST_COMPLETE && Date.now() < until) await new Promise((r) => setTimeout(r, 1));
      assert.is((await host.reg(NvmeReg.CSTS)) & Csts.SHST_MASK, Csts.SHST_COMPLETE);
    } finally {
      await t.close();
    }
  });

  test('migration: a controller with I/O queues and data in memory moves to another server and goes on there', async () => {
    const memory = guestMemory();
    const ram = memory.add({ iova: RAM, size: RAM_SIZE });
    const source = nvmeDevice({ size: 8 << 20 });
    const dest = nvmeDevice({ size: 8 << 20 });
    const a = await session(source, options, memory);
    const b = await session(dest, options, memory);
    try {
      const host = nvmeHost(a.dev, { iova: RAM, buffer: ram.buffer });
      await host.start();
      await host.enable();
      await host.createQueuePair(1, 16, 1);
      const before = pattern(8192, 7);
      assert.is((await host.write(1, 10, before)).status.sc, 0);
      // An event request left outstanding goes along and is answered on the destination.
      const aer = host.submit(0, { opcode: AdminOpcode.ASYNC_EVENT_REQUEST });
      const steps = await collect(migrateDevices(a.dev, b.dev));
      assert.equal(steps.at(-1)?.kind, 'resumed');
      await host.moveTo(b.dev);
      assert.ok((await host.read(1, 10, 8192)).data.equals(before), 'the namespace came along');
      const after = pattern(4096, 8);
      assert.is((await host.write(1, 40, after)).status.sc, 0, 'the queues go on where they were');
      assert.ok((await host.read(1, 40, 4096)).data.equals(after));
      await host.run(0, { opcode: AdminOpcode.SET_FEATURES, cdw: [FeatureId.ASYNC_EVENT_CONFIG, 0x2, 0, 0, 0, 0] });
      await host.run(0, { opcode: AdminOpcode.SET_FEATURES, cdw: [FeatureId.TEMPERATURE_THRESHOLD, 300, 0, 0, 0, 0] });
      assert.is((await aer).dw0 & 0x7, AsyncEventType.HEALTH);
      assert.is((await host.logPage(LogPage.HEALTH, 512)).readBigUInt64LE(80), 2n, 'the health log counts the writes of both sides');
      host.stop();
    } finally {
      await a.close();
      await b.close();
      source.close();
      dest.close();
      memory.close();
    }
  });

  test.run();
}

const collect = async <T>(it: AsyncIterable<T>): Promise<T[]> => {
  const all: T[] = [];
  for await (const x of it) all.push(x);
  return all;
};

const other = suite('nvme, backing file and INTx');

other('a backing file gets the writes, sized by the file; a new controller on it reads them back', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'nvme-'));
  const file = path.join(dir, 'disk.img');
  writeFileSync(file, Buffer.alloc(1 << 20));
  try {
    const t = await setUp(modes.fd, { backing: file, size: undefined });
    const data = pattern(4096, 3);
    try {
      const ns = await t.host.identify(Cns.NAMESPACE, 1);
      assert.is(Number(ns.readBigUInt64LE(0)), (1 << 20) / 512);
      await t.host.createQueuePair(1, 8, 1);
      await t.host.write(1, 16, data);
      await t.host.run(1, { opcode: IoOpcode.FLUSH, nsid: 1 });
      assert.ok(readFileSync(file).subarray(16 * 512, 16 * 512 + 4096).equals(data), 'the file holds the write');
    } finally {
      await t.close();
    }
    const again = await setUp(modes.message, { backing: file, size: undefined });
    try {
      await again.host.createQueuePair(1, 8, 1);
      assert.ok((await again.host.read(1, 16, 4096)).data.equals(data));
    } finally {
      await again.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

other('without MSI-X the controller raises INTx; INTMS masks it', async () => {
  const t = await setUp(modes.fd, {}, { interrupts: 'intx' });
  try {
    const { host } = t;
    await host.createQueuePair(1, 8, 0);
    const before = host.interrupts.length;
    await host.write(1, 0, Buffer.alloc(512, 1));
    assert.ok(host.interrupts.slice(before).every((i) => i.type === 'intx') && host.interrupts.length > before);
    await host.setReg(NvmeReg.INTMS, 1);
    assert.is(await host.reg(NvmeReg.INTMC), 1, 'INTMS and INTMC read the mask');
    const masked = host.interrupts.length;
    const pending = host.write(1, 1, Buffer.alloc(512, 2));
    await new Promise((r) => setTimeout(r, 30));
    assert.is(host.interrupts.length, masked, 'no INTx while masked');
    await host.setReg(NvmeReg.INTMC, 1);
    assert.is((await pending).status.sc, 0, 'unmasking raises it for the entry waiting');
  } finally {
    await t.close();
  }
});

other.run();
