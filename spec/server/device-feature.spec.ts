// DEVICE_FEATURE (after libvfio-user's test_device_feature / test_migration): probe, get, set, argsz, flags.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DeviceFeature, DeviceState as S, MigrationFlags } from '../../src/protocol/constants.js';
import { Errno } from '../../src/protocol/errno.js';
import { decodeDeviceFeatureReply } from '../../src/protocol/feature.js';
import { decodeMigDeviceStateFeature, decodeMigrationFeature } from '../../src/protocol/feature-migration.js';
import { memoryBar, pciDevice, testBed } from '../../src/server/index.js';
import { assertErrno, assertOk } from './fixtures.js';

const { GET, SET, PROBE, MIGRATION, MIG_DEVICE_STATE, DMA_LOGGING_START, DMA_LOGGING_STOP, DMA_LOGGING_REPORT } = DeviceFeature;
const device = (migration?: false | { preCopy?: boolean }) =>
  pciDevice({ ids: { vendorId: 1, deviceId: 2, classCode: 0 }, bars: { 0: memoryBar(16) }, ...(migration === undefined ? {} : { migration }) });

test('GET MIGRATION: STOP_COPY always, PRE_COPY when the device streams while running', async () => {
  for (const [migration, flags] of [[undefined, MigrationFlags.STOP_COPY], [{ preCopy: true }, MigrationFlags.STOP_COPY | MigrationFlags.PRE_COPY]] as const) {
    const bed = testBed(device(migration));
    const session = bed.open();
    const reply = decodeDeviceFeatureReply(assertOk(await session.send(bed.req.feature(GET | MIGRATION))).payload);
    assert.is(reply.argsz, 16);
    assert.is(reply.flags, GET | MIGRATION);
    assert.is(Number(decodeMigrationFeature(reply.data).flags), flags);
    session.stop();
  }
});

test('PROBE succeeds for every supported operation and echoes the request; unsupported ones are EINVAL', async () => {
  const bed = testBed(device());
  const session = bed.open();
  for (const flags of [PROBE | GET | MIGRATION, PROBE | GET | SET | MIG_DEVICE_STATE, PROBE | SET | DMA_LOGGING_START, PROBE | SET | DMA_LOGGING_STOP, PROBE | GET | DMA_LOGGING_REPORT]) {
    const request = bed.req.feature(flags);
    assert.equal(assertOk(await session.send(request)).payload, request.payload, `probe 0x${flags.toString(16)}`);
  }
  for (const flags of [PROBE | SET | MIGRATION, PROBE | GET | DMA_LOGGING_START, PROBE | SET | DMA_LOGGING_REPORT, SET | MIGRATION, GET | DMA_LOGGING_STOP, PROBE | GET | 3, GET | 9]) {
    assertErrno(await session.send(bed.req.feature(flags)), Errno.EINVAL);
  }
  session.stop();
});

test('bad flags (no operation, GET with SET, unknown bits) and an argsz too small for the reply are EINVAL', async () => {
  const bed = testBed(device());
  const session = bed.open();
  assertErrno(await session.send(bed.req.feature(MIGRATION)), Errno.EINVAL);
  assertErrno(await session.send(bed.req.feature(GET | SET | MIG_DEVICE_STATE)), Errno.EINVAL);
  assertErrno(await session.send(bed.req.feature(GET | MIGRATION | (1 << 20))), Errno.EINVAL);
  assertErrno(await session.send(bed.req.feature(GET | MIGRATION, Buffer.alloc(0), 15)), Errno.EINVAL);
  assertOk(await session.send(bed.req.feature(GET | MIGRATION, Buffer.alloc(0), 16)));
  session.stop();
});

test('a device built with migration: false answers EINVAL to every feature', async () => {
  const bed = testBed(device(false));
  const session = bed.open();
  for (const flags of [GET | MIGRATION, PROBE | GET | MIGRATION, GET | MIG_DEVICE_STATE]) assertErrno(await session.send(bed.req.feature(flags)), Errno.EINVAL);
  assertErrno(await session.send(bed.req.migDataRead(16)), Errno.EINVAL);
  session.stop();
});

test('GET MIG_DEVICE_STATE starts at RUNNING and follows SET', async () => {
  const bed = testBed(device());
  const session = bed.open();
  const state = async () => decodeMigDeviceStateFeature(decodeDeviceFeatureReply(assertOk(await session.send(bed.req.feature(GET | MIG_DEVICE_STATE))).payload).data).device_state;
  assert.is(await state(), S.RUNNING);
  const set = bed.req.setMigState(S.STOP);
  assert.equal(assertOk(await session.send(set)).payload, set.payload, 'SET echoes the request');
  assert.is(await state(), S.STOP);
  session.stop();
});

test.run();
