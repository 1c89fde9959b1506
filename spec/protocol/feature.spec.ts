import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { DeviceFeature, DeviceState, MigrationFlags } from '../../src/protocol/constants.js';
import {
  decodeDeviceFeatureReply, decodeDeviceFeatureRequest, encodeDeviceFeatureReply, encodeDeviceFeatureRequest, featureIndex,
} from '../../src/protocol/feature.js';
import {
  decodeMigDeviceStateFeature, decodeMigrationFeature, encodeMigDeviceStateFeature, encodeMigrationFeature,
} from '../../src/protocol/feature-migration.js';
import { arb, assertHex, assertMalformed, hex, rec } from './helpers.js';

// argsz 16 (room for the u64 reply data) | flags GET|MIGRATION = 0x10001
const GET_MIGRATION = '10 00 00 00  01 00 01 00';
// argsz 16 | flags 0x10001 | data: flags STOP_COPY|PRE_COPY
const MIGRATION_REPLY = '10 00 00 00  01 00 01 00  05 00 00 00 00 00 00 00';
// argsz 16 | flags SET|MIG_DEVICE_STATE = 0x20002 | device_state 3 (STOP_COPY) | data_fd 0
const SET_STATE = '10 00 00 00  02 00 02 00  03 00 00 00  00 00 00 00';
// argsz 8 | flags PROBE|DMA_LOGGING_STOP = 0x40007
const PROBE_STOP = '08 00 00 00  07 00 04 00';

test('GET MIGRATION request: argsz names the reply room, no data', () => {
  const x = { argsz: 16, flags: DeviceFeature.GET | DeviceFeature.MIGRATION, data: Buffer.alloc(0) };
  assertHex(encodeDeviceFeatureRequest(x), GET_MIGRATION);
  assert.equal(decodeDeviceFeatureRequest(hex(GET_MIGRATION)), x);
  assert.is(featureIndex(x.flags), DeviceFeature.MIGRATION);
});

test('GET MIGRATION reply: argsz, flags, then the migration flags', () => {
  const data = encodeMigrationFeature({ flags: MigrationFlags.STOP_COPY | MigrationFlags.PRE_COPY });
  assertHex(encodeDeviceFeatureReply({ flags: 0x10001, data }), MIGRATION_REPLY);
  const request = decodeDeviceFeatureRequest(hex(GET_MIGRATION));
  const reply = decodeDeviceFeatureReply(hex(MIGRATION_REPLY), request);
  assert.equal(decodeMigrationFeature(reply.data), { flags: 5 });
});

test('SET MIG_DEVICE_STATE: request and identical reply', () => {
  const data = encodeMigDeviceStateFeature({ device_state: DeviceState.STOP_COPY });
  assertHex(encodeDeviceFeatureRequest({ flags: DeviceFeature.SET | DeviceFeature.MIG_DEVICE_STATE, data }), SET_STATE);
  const request = decodeDeviceFeatureRequest(hex(SET_STATE));
  assert.equal(decodeMigDeviceStateFeature(request.data), { device_state: 3, data_fd: 0 });
  assertHex(encodeDeviceFeatureReply(request), SET_STATE);
  assert.equal(decodeDeviceFeatureReply(hex(SET_STATE), request), request);
});

test('PROBE with an operation bit is accepted', () => {
  assert.equal(decodeDeviceFeatureRequest(hex(PROBE_STOP)), { argsz: 8, flags: 0x40007, data: Buffer.alloc(0) });
  assert.is(decodeDeviceFeatureRequest(hex('08 00 00 00  02 00 07 00')).flags, 0x70002);
});

test('request: no operation, GET with SET without PROBE, unknown bits are EINVAL', () => {
  assertMalformed(() => decodeDeviceFeatureRequest(hex('08 00 00 00  01 00 00 00')), 'flags');
  assertMalformed(() => decodeDeviceFeatureRequest(hex('08 00 00 00  02 00 03 00')), 'flags');
  assertMalformed(() => decodeDeviceFeatureRequest(hex('08 00 00 00  01 00 09 00')), 'flags');
});

test('request: short payload or argsz < 8', () => {
  assertMalformed(() => decodeDeviceFeatureRequest(hex('08 00 00 00  01 00')), 'payload');
  assertMalformed(() => decodeDeviceFeatureRequest(hex('04 00 00 00  01 00 01 00')), 'argsz');
});

test('reply: flags must echo and the reply must fit the request argsz', () => {
  const request = decodeDeviceFeatureRequest(hex(GET_MIGRATION));
  assertMalformed(() => decodeDeviceFeatureReply(hex('10 00 00 00  02 00 01 00  05 00 00 00 00 00 00 00'), request), 'flags');
  assertMalformed(() => decodeDeviceFeatureReply(hex(`${MIGRATION_REPLY} 00`), request), 'argsz', 7);
  assertMalformed(() => decodeDeviceFeatureReply(hex('10 00 00 00')), 'payload');
});

test('MIGRATION and MIG_DEVICE_STATE data: short or unknown state', () => {
  assertMalformed(() => decodeMigrationFeature(hex('05 00 00 00')), 'payload');
  assertMalformed(() => decodeMigDeviceStateFeature(hex('03 00 00 00')), 'payload');
  assertMalformed(() => decodeMigDeviceStateFeature(hex('08 00 00 00  00 00 00 00')), 'device_state');
});

test('feature payloads and migration data round-trip', () => {
  const payload = rec({
    argsz: fc.integer({ min: 8, max: 0xffffffff }),
    flags: fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.constantFrom(0x10000, 0x20000, 0x40000, 0x50000, 0x60000, 0x70000))
      .map(([index, ops]) => index | ops),
    data: arb.bytes(32),
  });
  fc.assert(
    fc.property(payload, (x) => {
      assert.equal(decodeDeviceFeatureRequest(encodeDeviceFeatureRequest(x)), x);
      assert.equal(decodeDeviceFeatureReply(encodeDeviceFeatureReply(x)), x);
    }),
  );
  fc.assert(fc.property(arb.u64(), (flags) => assert.equal(decodeMigrationFeature(encodeMigrationFeature({ flags })), { flags })));
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 7 }), arb.u32(), (device_state, data_fd) => {
      assert.equal(decodeMigDeviceStateFeature(encodeMigDeviceStateFeature({ device_state, data_fd })), { device_state, data_fd });
    }),
  );
});

test.run();
