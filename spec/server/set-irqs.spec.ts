// DEVICE_SET_IRQS: libvfio-user's validation (every failure EINVAL) and the full data x action semantics.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Command, IrqSetFlags as F, PciIrq } from '../../src/protocol/constants.js';
import { Errno } from '../../src/protocol/errno.js';
import { encodeSetIrqsRequest } from '../../src/protocol/irq.js';
import { assertErrno, assertOk, openSink } from './fixtures.js';

const TRIGGER_FD = F.DATA_EVENTFD | F.ACTION_TRIGGER;

test('an index of 5 or more is EINVAL', async () => {
  const { session, req } = openSink();
  assertErrno(await session.send(req.setIrqs({ flags: F.DATA_NONE | F.ACTION_TRIGGER, index: 5, start: 0, count: 1 })), Errno.EINVAL);
  session.stop();
});

test('two data bits or two action bits are EINVAL', async () => {
  const { session, req } = openSink();
  const payload = (flags: number) => {
    const p = encodeSetIrqsRequest({ flags: F.DATA_NONE | F.ACTION_TRIGGER, index: 2, start: 0, count: 1 });
    p.writeUInt32LE(flags, 4);
    return p;
  };
  assertErrno(await session.send(req.frame(Command.DEVICE_SET_IRQS, payload(F.DATA_NONE | F.DATA_BOOL | F.ACTION_TRIGGER))), Errno.EINVAL);
  assertErrno(await session.send(req.frame(Command.DEVICE_SET_IRQS, payload(F.DATA_NONE | F.ACTION_MASK | F.ACTION_TRIGGER))), Errno.EINVAL);
  assertErrno(await session.send(req.frame(Command.DEVICE_SET_IRQS, payload(F.ACTION_TRIGGER))), Errno.EINVAL);
  assertOk(await session.send(req.frame(Command.DEVICE_SET_IRQS, payload(F.DATA_NONE | F.ACTION_TRIGGER))));
  session.stop();
});

test('start or start + count beyond the vectors is EINVAL', async () => {
  const { bed, session, req } = openSink();
  assertErrno(await session.send(req.setIrqs({ flags: F.DATA_NONE | F.ACTION_TRIGGER, index: PciIrq.MSIX, start: 4, count: 1 })), Errno.EINVAL);
  assertErrno(await session.send(req.setIrqs({ flags: F.DATA_NONE | F.ACTION_TRIGGER, index: PciIrq.MSIX, start: 2, count: 3 })), Errno.EINVAL);
  assertErrno(await session.send(bed.irqs('intx', 0, 2)), Errno.EINVAL);
  session.stop();
});

test('ERR and REQ take TRIGGER only', async () => {
  const { session, req } = openSink();
  assertErrno(await session.send(req.setIrqs({ flags: F.DATA_NONE | F.ACTION_MASK, index: PciIrq.ERR, start: 0, count: 1 })), Errno.EINVAL);
  assertErrno(await session.send(req.setIrqs({ flags: F.DATA_NONE | F.ACTION_UNMASK, index: PciIrq.REQ, start: 0, count: 1 })), Errno.EINVAL);
  assertOk(await session.send(req.setIrqs({ flags: F.DATA_NONE | F.ACTION_TRIGGER, index: PciIrq.ERR, start: 0, count: 1 })));
  session.stop();
});

test('count 0 is only DATA_NONE|ACTION_TRIGGER', async () => {
  const { session, req } = openSink();
  assertErrno(await session.send(req.setIrqs({ flags: F.DATA_NONE | F.ACTION_MASK, index: PciIrq.MSIX, start: 0, count: 0 })), Errno.EINVAL);
  assertErrno(await session.send(req.setIrqs({ flags: TRIGGER_FD, index: PciIrq.MSIX, start: 0, count: 0 })), Errno.EINVAL);
  assertOk(await session.send(req.setIrqs({ flags: F.DATA_NONE | F.ACTION_TRIGGER, index: PciIrq.MSIX, start: 0, count: 0 })));
  session.stop();
});

test('a number of eventfds other than count (or 0) is EINVAL, and they are closed', async () => {
  const { bed, session, req } = openSink();
  const fds = [bed.io.eventfd(), bed.io.eventfd()];
  assertErrno(await session.send(req.setIrqs({ flags: TRIGGER_FD, index: PciIrq.MSIX, start: 0, count: 3 }, { fds })), Errno.EINVAL);
  assert.ok(fds.every((fd) => !bed.io.isOpen(fd)));
  session.stop();
});

test('fds with DATA_NONE or DATA_BOOL are EINVAL', async () => {
  const { bed, session, req } = openSink();
  const fd = bed.io.eventfd();
  assertErrno(await session.send(req.setIrqs({ flags: F.DATA_NONE | F.ACTION_TRIGGER, index: PciIrq.MSIX, start: 0, count: 1 }, { fds: [fd] })), Errno.EINVAL);
  assert.not.ok(bed.io.isOpen(fd));
  session.stop();
});

test('more fds than our max_msg_fds is EINVAL', async () => {
  const { bed, session, req } = openSink({ limits: { maxMsgFds: 2 } });
  const fds = [bed.io.eventfd(), bed.io.eventfd(), bed.io.eventfd()];
  assertErrno(await session.send(req.setIrqs({ flags: TRIGGER_FD, index: PciIrq.MSIX, start: 0, count: 3 }, { fds })), Errno.EINVAL);
  session.stop();
});

test('argsz other than the payload size is EINVAL', async () => {
  const { session, req } = openSink();
  assertErrno(await session.send(req.setIrqs({ argsz: 24, flags: F.DATA_NONE | F.ACTION_TRIGGER, index: PciIrq.MSIX, start: 0, count: 1 })), Errno.EINVAL);
  assertErrno(await session.send(req.setIrqs({ argsz: 16, flags: F.DATA_NONE | F.ACTION_TRIGGER, index: PciIrq.MSIX, start: 0, count: 1 })), Errno.EINVAL);
  session.stop();
});

test('DATA_BOOL with a data length other than count is EINVAL', async () => {
  const { session, req } = openSink();
  const payload = encodeSetIrqsRequest({ flags: F.DATA_BOOL | F.ACTION_TRIGGER, index: PciIrq.MSIX, start: 0, count: 2, data: Buffer.from([1, 1]) });
  assertErrno(await session.send(req.frame(Command.DEVICE_SET_IRQS, payload.subarray(0, 21))), Errno.EINVAL);
  session.stop();
});

test('EVENTFD|TRIGGER assigns eventfds the device then signals; the client can fire them with NONE and BOOL', async () => {
  const { bed, session, req, ctx } = openSink();
  assertOk(await session.send(bed.irqs('msix', 0, 4)));
  ctx().trigger('msix', 2);
  assertOk(await session.send(req.setIrqs({ flags: F.DATA_NONE | F.ACTION_TRIGGER, index: PciIrq.MSIX, start: 0, count: 2 })));
  assertOk(await session.send(req.setIrqs({ flags: F.DATA_BOOL | F.ACTION_TRIGGER, index: PciIrq.MSIX, start: 1, count: 3, data: Buffer.from([0, 1, 1]) })));
  assert.equal(session.outputs.filter((o) => o.kind === 'irq'), [2, 0, 1, 2, 3].map((vector) => ({ kind: 'irq', type: 'msix', vector })));
  session.stop();
});

test('re-assigning closes the replaced eventfd; an EVENTFD set without fds de-assigns and closes', async () => {
  const { bed, session, req, ctx } = openSink();
  const first = bed.irqs('msix', 0, 2);
  assertOk(await session.send(first));
  assertOk(await session.send(bed.irqs('msix', 1, 1)));
  assert.ok(bed.io.isOpen(first.fds[0]!));
  assert.not.ok(bed.io.isOpen(first.fds[1]!));
  assertOk(await session.send(req.setIrqs({ flags: TRIGGER_FD, index: PciIrq.MSIX, start: 0, count: 1 })));
  assert.not.ok(bed.io.isOpen(first.fds[0]!));
  ctx().trigger('msix', 0);
  ctx().trigger('msix', 1);
  assert.equal(session.outputs.filter((o) => o.kind === 'irq'), [{ kind: 'irq', type: 'msix', vector: 1 }]);
  session.stop();
});

test('count 0 disables every vector of the type and closes its eventfds', async () => {
  const { bed, session, req } = openSink();
  const set = bed.irqs('msi', 0, 4);
  assertOk(await session.send(set));
  assertOk(await session.send(req.setIrqs({ flags: F.DATA_NONE | F.ACTION_TRIGGER, index: PciIrq.MSI, start: 0, count: 0 })));
  assert.ok(set.fds.every((fd) => !bed.io.isOpen(fd)));
  session.stop();
});

test('each type keeps its own eventfds (not one table shared by INTx, MSI and MSI-X)', async () => {
  const { bed, session, ctx } = openSink();
  assertOk(await session.send(bed.irqs('intx', 0, 1)));
  assertOk(await session.send(bed.irqs('msix', 0, 1)));
  ctx().trigger('intx');
  ctx().trigger('msix', 0);
  assert.equal(session.outputs.filter((o) => o.kind === 'irq'), [{ kind: 'irq', type: 'intx', vector: 0 }, { kind: 'irq', type: 'msix', vector: 0 }]);
  session.stop();
});

test('a masked vector fires into its pending bit and is delivered on UNMASK; mask and unmask eventfds are signalled', async () => {
  const { bed, session, req, ctx } = openSink();
  assertOk(await session.send(bed.irqs('intx', 0, 1)));
  assertOk(await session.send(bed.irqs('intx', 0, 1, 'mask')));
  assertOk(await session.send(bed.irqs('intx', 0, 1, 'unmask')));
  assertOk(await session.send(req.setIrqs({ flags: F.DATA_NONE | F.ACTION_MASK, index: PciIrq.INTX, start: 0, count: 1 })));
  ctx().trigger('intx');
  ctx().trigger('intx');
  assertOk(await session.send(req.setIrqs({ flags: F.DATA_BOOL | F.ACTION_UNMASK, index: PciIrq.INTX, start: 0, count: 1, data: Buffer.from([1]) })));
  assert.equal(session.outputs.filter((o) => o.kind === 'irq'), [
    { kind: 'irq', type: 'intx', vector: 0, action: 'mask' },
    { kind: 'irq', type: 'intx', vector: 0, action: 'unmask' },
    { kind: 'irq', type: 'intx', vector: 0 },
  ]);
  session.stop();
});

test('an interrupt with no eventfd assigned is dropped, not kept pending', async () => {
  const { bed, session, ctx } = openSink();
  ctx().trigger('msix', 3);
  assertOk(await session.send(bed.irqs('msix', 3, 1)));
  assert.equal(session.outputs.filter((o) => o.kind === 'irq'), []);
  session.stop();
});

test('the connection stays usable after every kind of SET_IRQS error', async () => {
  const { bed, session, req } = openSink();
  assertErrno(await session.send(req.setIrqs({ flags: F.DATA_NONE | F.ACTION_TRIGGER, index: 9, start: 0, count: 1 })), Errno.EINVAL);
  assertOk(await session.send(bed.irqs('msix', 0, 4)));
  assertOk(await session.send(req.deviceInfo()));
  session.stop();
});

test.run();
