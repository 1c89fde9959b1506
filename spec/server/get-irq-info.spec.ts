// DEVICE_GET_IRQ_INFO (after libvfio-user's test_device_get_irq_info.py).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Command, IrqInfoFlags, PciIrq } from '../../src/protocol/constants.js';
import { Errno } from '../../src/protocol/errno.js';
import { decodeIrqInfoReply } from '../../src/protocol/irq.js';
import { assertErrno, assertOk, openSink } from './fixtures.js';

test('an index of 5 or more is EINVAL', async () => {
  const { session, req } = openSink();
  assertErrno(await session.send(req.irqInfo(PciIrq.NUM_IRQS)), Errno.EINVAL);
  assertOk(await session.send(req.irqInfo(PciIrq.INTX)));
  session.stop();
});

test('argsz below 16 is EINVAL', async () => {
  const { session, req } = openSink();
  assertErrno(await session.send(req.irqInfo(0, 8)), Errno.EINVAL);
  session.stop();
});

test('a short payload is EINVAL', async () => {
  const { session, req } = openSink();
  assertErrno(await session.send(req.frame(Command.DEVICE_GET_IRQ_INFO, Buffer.alloc(4))), Errno.EINVAL);
  session.stop();
});

test('reports each type\'s vector count; INTx, MSI and MSI-X are maskable, ERR and REQ are not', async () => {
  const { session, req } = openSink();
  const infos = [];
  for (let index = 0; index < PciIrq.NUM_IRQS; index++) infos.push(decodeIrqInfoReply(assertOk(await session.send(req.irqInfo(index))).payload));
  const maskable = IrqInfoFlags.EVENTFD | IrqInfoFlags.MASKABLE;
  assert.equal(infos.map((i) => [i.index, i.count, i.flags]), [
    [0, 1, maskable],
    [1, 4, maskable],
    [2, 4, maskable],
    [3, 1, IrqInfoFlags.EVENTFD],
    [4, 1, IrqInfoFlags.EVENTFD],
  ]);
  session.stop();
});

test.run();
