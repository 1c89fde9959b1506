// DEVICE_GET_INFO (after libvfio-user's test_device_get_info.py).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Command, DeviceFlags } from '../../src/protocol/constants.js';
import { decodeDeviceInfoReply } from '../../src/protocol/device-info.js';
import { Errno } from '../../src/protocol/errno.js';
import { assertErrno, assertOk, openSink } from './fixtures.js';

test('a payload shorter than 16 bytes is EINVAL', async () => {
  const { session, req } = openSink();
  assertErrno(await session.send(req.frame(Command.DEVICE_GET_INFO, Buffer.alloc(8))), Errno.EINVAL);
  assertOk(await session.send(req.deviceInfo()));
  session.stop();
});

test('argsz below 16 is EINVAL', async () => {
  const { session, req } = openSink();
  assertErrno(await session.send(req.deviceInfo(8)), Errno.EINVAL);
  assertOk(await session.send(req.deviceInfo()));
  session.stop();
});

test('reports a resettable PCI device, its regions (the 9 PCI ones plus device-specific) and 5 IRQ types', async () => {
  const { session, req } = openSink();
  const info = decodeDeviceInfoReply(assertOk(await session.send(req.deviceInfo(64))).payload);
  assert.equal(info, { argsz: 16, flags: DeviceFlags.RESET | DeviceFlags.PCI, num_regions: 10, num_irqs: 5 });
  session.stop();
});

test('fds sent with it are EINVAL and closed', async () => {
  const { bed, session, req } = openSink();
  const fd = bed.io.eventfd();
  assertErrno(await session.send(req.deviceInfo(16, { fds: [fd] })), Errno.EINVAL);
  assert.not.ok(bed.io.isOpen(fd));
  session.stop();
});

test.run();
