// The migration state machine and MIG_DATA_READ / MIG_DATA_WRITE (after libvfio-user's test_migration.py).
import { Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DeviceFeature, DeviceState as S } from '../../src/protocol/constants.js';
import { PciConfig } from '../../src/pci/index.js';
import { Errno } from '../../src/protocol/errno.js';
import { decodeDeviceFeatureReply } from '../../src/protocol/feature.js';
import { decodeMigDeviceStateFeature } from '../../src/protocol/feature-migration.js';
import { decodeMigDataReadReply } from '../../src/protocol/migration-data.js';
import { decodeRegionReadReply } from '../../src/protocol/region-access.js';
import { migrationPath } from '../../src/server/migration.js';
import { memoryBar, pciDevice, ramBar, testBed, type MigrationHooks, type TestBed } from '../../src/server/index.js';
import { K, assertErrno, assertOk, kitchenSink, u16 } from './fixtures.js';
import type { MockSession } from '../../src/server/testing/harness.js';

const { RUNNING, STOP, STOP_COPY, RESUMING, PRE_COPY, ERROR, RUNNING_P2P, PRE_COPY_P2P } = S;
const NAMES: Record<number, string> = { 0: 'ERROR', 1: 'STOP', 2: 'RUNNING', 3: 'STOP_COPY', 4: 'RESUMING', 5: 'RUNNING_P2P', 6: 'PRE_COPY', 7: 'PRE_COPY_P2P' };
const names = (path: readonly number[] | undefined) => (path ? path.map((s) => NAMES[s]).join(',') : 'refused');

test('every path: direct arcs, the shortest chains, never through a saving state, and the forbidden ones', () => {
  // from -> to -> the arcs taken (libvfio-user's route table where it has a chain).
  const expected: Record<string, string> = {
    'RUNNING>STOP': 'STOP', 'RUNNING>STOP_COPY': 'STOP,STOP_COPY', 'RUNNING>RESUMING': 'STOP,RESUMING', 'RUNNING>PRE_COPY': 'PRE_COPY',
    'STOP>RUNNING': 'RUNNING', 'STOP>STOP_COPY': 'STOP_COPY', 'STOP>RESUMING': 'RESUMING', 'STOP>PRE_COPY': 'RUNNING,PRE_COPY',
    'STOP_COPY>STOP': 'STOP', 'STOP_COPY>RUNNING': 'STOP,RUNNING', 'STOP_COPY>RESUMING': 'STOP,RESUMING', 'STOP_COPY>PRE_COPY': 'refused',
    'RESUMING>STOP': 'STOP', 'RESUMING>RUNNING': 'STOP,RUNNING', 'RESUMING>STOP_COPY': 'STOP,STOP_COPY', 'RESUMING>PRE_COPY': 'STOP,RUNNING,PRE_COPY',
    'PRE_COPY>RUNNING': 'RUNNING', 'PRE_COPY>STOP_COPY': 'STOP_COPY', 'PRE_COPY>STOP': 'RUNNING,STOP', 'PRE_COPY>RESUMING': 'RUNNING,STOP,RESUMING',
  };
  for (const [pair, arcs] of Object.entries(expected)) {
    const [from, to] = pair.split('>').map((n) => Number(Object.keys(NAMES).find((k) => NAMES[Number(k)] === n)));
    assert.is(names(migrationPath(from!, to!, true)), arcs, pair);
    const touchesPreCopy = from === PRE_COPY || to === PRE_COPY;
    assert.is(names(migrationPath(from!, to!, false)), touchesPreCopy ? 'refused' : arcs, `${pair} without PRE_COPY`);
  }
  for (const s of [RUNNING, STOP, STOP_COPY, RESUMING, PRE_COPY]) assert.equal(migrationPath(s, s, true), [], 'to itself: nothing to do');
  for (const s of [ERROR, RUNNING_P2P, PRE_COPY_P2P]) {
    assert.is(migrationPath(RUNNING, s, true), undefined, `to ${NAMES[s]}`);
    assert.is(migrationPath(s, RUNNING, true), undefined, `from ${NAMES[s]}`);
  }
  assert.is(migrationPath(RUNNING, 9, true), undefined);
});

/** A device with state of its own (4 bytes), hooks that record their calls, and a RAM BAR. */
const statefulDevice = (calls: string[], extra: MigrationHooks = {}) => {
  let value = Buffer.from('init');
  const device = pciDevice({
    ids: { vendorId: 1, deviceId: 2, classCode: 0 },
    bars: { 0: memoryBar(16, { read: (offset, count) => value.subarray(offset, offset + count), write: (offset, data) => void data.copy(value, offset) }), 2: ramBar(8192) },
    migration: {
      save: (phase) => (calls.push(`save ${phase}`), Buffer.from(value)),
      load: (data) => {
        calls.push(`load ${data.toString()}`);
        if (data.toString() === 'bad!') throw new Error('not a state of mine');
        value = Buffer.from(data);
      },
      quiesce: () => void calls.push('quiesce'),
      resume: () => void calls.push('resume'),
      ...extra,
    },
  });
  return { device, value: () => value.toString() };
};

const migState = async (bed: TestBed, session: MockSession) =>
  decodeMigDeviceStateFeature(decodeDeviceFeatureReply(assertOk(await session.send(bed.req.feature(DeviceFeature.GET | DeviceFeature.MIG_DEVICE_STATE))).payload).data).device_state;

/** MIG_DATA_READ until a short reply; the data, concatenated. */
const readAll = async (bed: TestBed, session: MockSession, chunk = 7): Promise<Buffer> => {
  const parts: Buffer[] = [];
  for (;;) {
    const reply = decodeMigDataReadReply(assertOk(await session.send(bed.req.migDataRead(chunk))).payload);
    parts.push(Buffer.from(reply.data));
    if (reply.size < chunk) return Buffer.concat(parts);
  }
};

test('a chain runs its arcs in order with the hooks: RUNNING to STOP_COPY quiesces once, back to RUNNING resumes', async () => {
  const calls: string[] = [];
  const bed = testBed(statefulDevice(calls).device);
  const session = bed.open();
  assertOk(await session.send(bed.req.setMigState(STOP_COPY)));
  assert.equal(calls, ['quiesce', 'save stop-copy']);
  assert.is(await migState(bed, session), STOP_COPY);
  assertOk(await session.send(bed.req.setMigState(RUNNING)));
  assert.equal(calls, ['quiesce', 'save stop-copy', 'resume']);
  assert.is(await migState(bed, session), RUNNING);
  session.stop();
});

test('an unreachable target is EINVAL and changes nothing; DEVICE_RESET leaves any state for RUNNING', async () => {
  const calls: string[] = [];
  const bed = testBed(statefulDevice(calls).device);
  const session = bed.open();
  for (const target of [ERROR, RUNNING_P2P, PRE_COPY, 8]) assertErrno(await session.send(bed.req.setMigState(target)), Errno.EINVAL);
  assert.is(await migState(bed, session), RUNNING);
  assertOk(await session.send(bed.req.setMigState(STOP_COPY)));
  assertOk(await session.send(bed.req.reset()));
  assert.is(await migState(bed, session), RUNNING);
  session.stop();
});

test('STOP and STOP_COPY refuse what would change the device; MIG_DATA_* only in their states', async () => {
  const { device } = statefulDevice([]);
  const bed = testBed(device);
  const session = bed.open();
  assertErrno(await session.send(bed.req.migDataRead(8)), Errno.EINVAL);
  assertErrno(await session.send(bed.req.migDataWrite(Buffer.from('x'))), Errno.EINVAL);
  assertOk(await session.send(bed.req.setMigState(STOP)));
  assertOk(await session.send(bed.req.regionRead(0, 0, 4)), 'region access in STOP');
  assertOk(await session.send(bed.map(0, 0x1000, 'message')), 'the client may still change its memory');
  assertOk(await session.send(bed.req.deviceInfo()), 'and look at what the device is');
  assertErrno(await session.send(bed.irqs('err', 0, 1)), Errno.EINVAL);
  assertErrno(await session.send(bed.req.migDataRead(8)), Errno.EINVAL);
  assertOk(await session.send(bed.req.setMigState(STOP_COPY)));
  assertErrno(await session.send(bed.req.regionRead(0, 0, 4)), Errno.EINVAL);
  assertErrno(await session.send(bed.req.migDataWrite(Buffer.from('x'))), Errno.EINVAL);
  assertOk(await session.send(bed.req.setMigState(RESUMING)));
  assertErrno(await session.send(bed.req.migDataRead(8)), Errno.EINVAL);
  assertOk(await session.send(bed.req.deviceInfo()), 'RESUMING takes other commands');
  session.stop();
});

test('MIG_DATA_READ: argsz below 8 + size is EINVAL, a size above max_data_xfer_size is E2BIG', async () => {
  const bed = testBed(statefulDevice([]).device, { limits: { maxDataXferSize: 64 } });
  const session = bed.open();
  assertOk(await session.send(bed.req.setMigState(STOP_COPY)));
  assertErrno(await session.send(bed.req.migDataRead(16, 23)), Errno.EINVAL);
  assertErrno(await session.send(bed.req.migDataRead(65)), Errno.E2BIG);
  assertOk(await session.send(bed.req.migDataRead(64)));
  session.stop();
});

test('stop-and-copy to a second device restores config space, RAM, and the device state; the short read ends the data', async () => {
  const calls: string[] = [];
  const source = statefulDevice(calls);
  const a = testBed(source.device);
  const sa = a.open();
  assertOk(await sa.send(a.req.regionWrite(0, 0, Buffer.from('live'))));
  assertOk(await sa.send(a.req.configWrite(PciConfig.COMMAND, u16(0x0006))));
  assertOk(await sa.send(a.req.regionWrite(2, 0x100, Buffer.from('ram contents'))));
  assertOk(await sa.send(a.req.setMigState(STOP_COPY)));
  const data = await readAll(a, sa);
  assert.ok(data.length > 8192, 'the RAM BAR travels with the state');
  assertOk(await sa.send(a.req.setMigState(STOP)));
  sa.stop();

  const dcalls: string[] = [];
  const dest = statefulDevice(dcalls);
  const b = testBed(dest.device);
  const sb = b.open();
  assertOk(await sb.send(b.req.setMigState(RESUMING)));
  for (let at = 0; at < data.length; at += 1000) assertOk(await sb.send(b.req.migDataWrite(data.subarray(at, at + 1000))));
  assert.is(dest.value(), 'init', 'nothing is loaded before RESUMING ends');
  assertOk(await sb.send(b.req.setMigState(RUNNING)));
  assert.equal(dcalls, ['quiesce', 'load live', 'resume'], 'RUNNING to RESUMING goes through STOP');
  assert.is(dest.value(), 'live');
  const command = decodeRegionReadReply(assertOk(await sb.send(b.req.configRead(PciConfig.COMMAND, 2))).payload).data!;
  assert.is(command.readUInt16LE(0), 0x0006);
  const ram = decodeRegionReadReply(assertOk(await sb.send(b.req.regionRead(2, 0x100, 12))).payload).data!;
  assert.is(ram.toString(), 'ram contents');
  sb.stop();
});

test('data the device refuses fails the SET with EINVAL: the device stays in RESUMING, the data dropped', async () => {
  const calls: string[] = [];
  const device = pciDevice({ ids: { vendorId: 1, deviceId: 2, classCode: 0 }, bars: { 0: memoryBar(16) }, migration: { raw: true, load: (d) => { calls.push(d.toString()); if (d.toString() !== 'good') throw new Error('no'); } } });
  const bed = testBed(device);
  const session = bed.open();
  assertOk(await session.send(bed.req.setMigState(RESUMING)));
  assertOk(await session.send(bed.req.migDataWrite(Buffer.from('bad!'))));
  assertErrno(await session.send(bed.req.setMigState(STOP)), Errno.EINVAL);
  assert.is(await migState(bed, session), RESUMING);
  assertOk(await session.send(bed.req.migDataWrite(Buffer.from('good'))));
  assertOk(await session.send(bed.req.setMigState(STOP)));
  assert.equal(calls, ['bad!', 'good'], 'the refused data was not kept');
  session.stop();
});

test('framework records that do not match the device are EINVAL (truncated, unknown tag, wrong config size)', async () => {
  for (const data of [Buffer.from([2, 10, 0, 0, 0, 1]), Buffer.from([9, 0, 0, 0, 0]), Buffer.from([2, 4, 0, 0, 0, 1, 2, 3, 4]), Buffer.from([1, 2])]) {
    const bed = testBed(kitchenSink());
    const session = bed.open();
    assertOk(await session.send(bed.req.setMigState(RESUMING)));
    assertOk(await session.send(bed.req.migDataWrite(data)));
    assertErrno(await session.send(bed.req.setMigState(STOP)), Errno.EINVAL);
    session.stop();
  }
});

test('a raw device\'s stream is its own bytes, unframed', async () => {
  const bed = testBed(statefulDevice([], { raw: true }).device);
  const session = bed.open();
  assertOk(await session.send(bed.req.setMigState(STOP_COPY)));
  assert.is((await readAll(bed, session)).toString(), 'init');
  session.stop();
});

test('a short MIG_DATA_READ reply is padded to 8 + the requested size (libvfio-user\'s client needs it); size tells the bytes', async () => {
  const bed = testBed(statefulDevice([], { raw: true }).device);
  const session = bed.open();
  assertOk(await session.send(bed.req.setMigState(STOP_COPY)));
  const payload = assertOk(await session.send(bed.req.migDataRead(16))).payload;
  assert.is(payload.length, 8 + 16);
  assert.equal(decodeMigDataReadReply(payload), { argsz: 8 + 4, size: 4, data: Buffer.from('init') });
  assert.ok(payload.subarray(12).equals(Buffer.alloc(12)), 'zeros after the data');
  session.stop();
});

test('pre-copy: reads return what is ready now (none: a zero-size reply), then STOP_COPY brings the rest and a final short read', async () => {
  const chunks = new Subject<Buffer>();
  const calls: string[] = [];
  const bed = testBed(statefulDevice(calls, { raw: true, preCopy: true, save: (phase: string) => (calls.push(phase), phase === 'pre-copy' ? chunks : Buffer.from('|stop')) }).device);
  const session = bed.open();
  assertOk(await session.send(bed.req.setMigState(PRE_COPY)));
  assert.is(decodeMigDataReadReply(assertOk(await session.send(bed.req.migDataRead(16))).payload).size, 0, 'nothing yet');
  chunks.next(Buffer.from('round1'));
  assert.is(decodeMigDataReadReply(assertOk(await session.send(bed.req.migDataRead(16))).payload).data.toString(), 'round1');
  chunks.next(Buffer.from('round2'));
  assertOk(await session.send(bed.req.regionWrite(0, 0, Buffer.from('runs'))), 'the device still runs in PRE_COPY');
  assertOk(await session.send(bed.req.setMigState(STOP_COPY)));
  assert.equal(calls, ['pre-copy', 'quiesce', 'stop-copy']);
  assert.is((await readAll(bed, session, 4)).toString(), 'round2|stop', 'what pre-copy left unread comes first');
  session.stop();
});

test('in STOP_COPY a read waits for the device\'s data until it is there or the stream ends', async () => {
  const chunks = new Subject<Buffer>();
  const bed = testBed(statefulDevice([], { raw: true, save: () => chunks }).device);
  const session = bed.open();
  assertOk(await session.send(bed.req.setMigState(STOP_COPY)));
  const first = session.send(bed.req.migDataRead(8));
  let answered = false;
  void first.then(() => (answered = true));
  await new Promise((r) => setTimeout(r, 5));
  assert.not.ok(answered, 'no data yet: the read waits');
  chunks.next(Buffer.from('0123'));
  chunks.next(Buffer.from('4567'));
  assert.is(decodeMigDataReadReply(assertOk(await first).payload).data.toString(), '01234567');
  const last = session.send(bed.req.migDataRead(8));
  chunks.next(Buffer.from('89'));
  chunks.complete();
  assert.is(decodeMigDataReadReply(assertOk(await last).payload).data.toString(), '89', 'short: the end');
  session.stop();
});

test('a device whose save stream fails: MIG_DATA_READ is EIO once the data before it is read', async () => {
  const chunks = new Subject<Buffer>();
  const bed = testBed(statefulDevice([], { raw: true, save: () => chunks }).device);
  const session = bed.open();
  assertOk(await session.send(bed.req.setMigState(STOP_COPY)));
  chunks.next(Buffer.from('ok'));
  chunks.error(new Error('disk on fire'));
  assert.is(decodeMigDataReadReply(assertOk(await session.send(bed.req.migDataRead(8))).payload).data.toString(), 'ok');
  assertErrno(await session.send(bed.req.migDataRead(8)), Errno.EIO);
  session.stop();
});

test('the kitchen-sink device migrates with the framework\'s state alone (no hooks)', async () => {
  const a = testBed(kitchenSink());
  const sa = a.open();
  assertOk(await sa.send(a.req.regionWrite(K.RAM, 0x1000, Buffer.from('shared'))));
  assertOk(await sa.send(a.req.setMigState(STOP_COPY)));
  const data = await readAll(a, sa, 4096);
  sa.stop();
  const b = testBed(kitchenSink());
  const sb = b.open();
  assertOk(await sb.send(b.req.setMigState(RESUMING)));
  assertOk(await sb.send(b.req.migDataWrite(data)));
  assertOk(await sb.send(b.req.setMigState(RUNNING)));
  assert.is(decodeRegionReadReply(assertOk(await sb.send(b.req.regionRead(K.RAM, 0x1000, 6))).payload).data!.toString(), 'shared');
  sb.stop();
});

test('the state machine as a marble: arcs answered in order, a refused target an error, commands gated by the state', () => {
  const calls: string[] = [];
  const bed = testBed(statefulDevice(calls).device);
  const scheduler = new TestScheduler((actual, expected) => assert.equal(actual, expected));
  scheduler.run(({ hot, expectObservable }) => {
    const input = hot('-s-w-c-p-r-i-x', {
      s: bed.req.setMigState(STOP),
      w: bed.req.regionWrite(0, 0, Buffer.from('ok')), // region writes are taken in STOP
      c: bed.req.setMigState(STOP_COPY),
      p: bed.req.setMigState(PRE_COPY), // STOP_COPY to PRE_COPY is refused
      r: bed.req.regionRead(0, 0, 2), // and region accesses in STOP_COPY
      i: bed.req.setMigState(RUNNING),
      x: bed.req.regionRead(0, 0, 2),
    });
    const ok = (command: string) => ({ kind: 'reply', command });
    const err = (command: string) => ({ kind: 'error', command, errno: 'EINVAL' });
    expectObservable(bed.run(input)).toBe('-s-w-c-p-r-i-x', {
      s: ok('DEVICE_FEATURE'),
      w: ok('REGION_WRITE'),
      c: ok('DEVICE_FEATURE'),
      p: err('DEVICE_FEATURE'),
      r: err('REGION_READ'),
      i: ok('DEVICE_FEATURE'),
      x: { kind: 'reply', command: 'REGION_READ', data: Buffer.from('ok').toString('hex') },
    });
  });
  assert.equal(calls, ['quiesce', 'save stop-copy', 'resume'], 'STOP_COPY to RUNNING goes through STOP');
});

test.run();
