// DEVICE_RESET (after libvfio-user's test_device_reset.py), and FLR through config space.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Observable } from 'rxjs';
import { Command } from '../../src/protocol/constants.js';
import { Errno } from '../../src/protocol/errno.js';
import { decodeRegionReadReply } from '../../src/protocol/region-access.js';
import { ExpBits, ExpReg, PciConfig, msixState, type ConfigSpace } from '../../src/pci/index.js';
import { memoryBar, pciDevice, testBed, type DeviceContext } from '../../src/server/index.js';
import { K, assertErrno, assertOk, openSink, u16, u32 } from './fixtures.js';

const latest = (ctx: DeviceContext): ConfigSpace => {
  let config: ConfigSpace | undefined;
  ctx.config$.subscribe((c) => (config = c)).unsubscribe();
  return config!;
};

test('a payload is EINVAL', async () => {
  const { session, req, resets } = openSink();
  assertErrno(await session.send(req.frame(Command.DEVICE_RESET, Buffer.alloc(4))), Errno.EINVAL);
  assert.equal(resets, []);
  assertOk(await session.send(req.reset()));
  session.stop();
});

test('puts config space back as built, clears the MSI-X table, keeps the DMA maps, and runs the hook', async () => {
  const { bed, session, req, resets } = openSink();
  assertOk(await session.send(bed.map(0, 0x1000, 'message')));
  assertOk(await session.send(req.configWrite(PciConfig.COMMAND, u16(0x0006))));
  assertOk(await session.send(req.regionWrite(K.MSIX, 0, u32(0xfee00000))));
  assertOk(await session.send(req.reset()));
  assert.equal(resets, ['reset']);
  const cmd = decodeRegionReadReply(assertOk(await session.send(req.configRead(PciConfig.COMMAND, 2))).payload);
  assert.is(cmd.data?.readUInt16LE(0), 0);
  const entry = decodeRegionReadReply(assertOk(await session.send(req.regionRead(K.MSIX, 0, 4))).payload);
  assert.is(entry.data?.readUInt32LE(0), 0);
  assertErrno(await session.send(bed.map(0, 0x1000, 'fd')), Errno.EEXIST);
  session.stop();
});

test('the reply waits for the reset hook to complete, and a failing hook fails the reset with EIO', async () => {
  let finish: (() => void) | undefined;
  let fail = false;
  const device = pciDevice({
    ids: { vendorId: 1, deviceId: 2, classCode: 0 },
    bars: { 0: memoryBar(16) },
    reset: () =>
      new Observable<void>((s) => {
        if (fail) return s.error(new Error('stuck'));
        finish = () => s.complete();
      }),
  });
  const bed = testBed(device);
  const session = bed.open();
  let replied = false;
  const reply = session.send(bed.req.reset()).then((r) => ((replied = true), r));
  const later = session.send(bed.req.deviceInfo());
  await Promise.resolve();
  assert.not.ok(replied);
  assert.is(session.sent.filter((m) => m.command === Command.DEVICE_GET_INFO).length, 0, 'later commands wait too');
  finish!();
  assertOk(await reply);
  assertOk(await later);
  fail = true;
  assertErrno(await session.send(bed.req.reset()), Errno.EIO);
  session.stop();
});

test('an FLR through the PCIe capability resets the device like DEVICE_RESET', async () => {
  const { session, req, resets, ctx } = openSink();
  const pcie = latest(ctx()).layout.pcie!;
  assertOk(await session.send(req.configWrite(PciConfig.COMMAND, u16(0x0006))));
  assertOk(await session.send(req.configWrite(pcie.offset + ExpReg.DEVCTL, u16(ExpBits.DEVCTL_FLR))));
  assert.equal(resets, ['flr']);
  const cmd = decodeRegionReadReply(assertOk(await session.send(req.configRead(PciConfig.COMMAND, 2))).payload);
  assert.is(cmd.data?.readUInt16LE(0), 0);
  assert.is(msixState(latest(ctx()))?.enabled, false);
  session.stop();
});

test.run();
