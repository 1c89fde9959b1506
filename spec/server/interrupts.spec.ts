// Interrupt delivery: the MSI-X table and PBA emulated in their BAR, MSI per-vector masking,
// and INTx Disable, each holding a vector pending until it is unmasked.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Errno } from '../../src/protocol/errno.js';
import { decodeRegionReadReply } from '../../src/protocol/region-access.js';
import { MsiReg, MsixFlags, MsixReg, PciCommand, PciConfig, type ConfigSpace } from '../../src/pci/index.js';
import type { DeviceContext } from '../../src/server/index.js';
import { K, assertErrno, assertOk, openSink, u16, u32 } from './fixtures.js';

const PBA = 4096;
const layoutOf = (ctx: DeviceContext): ConfigSpace['layout'] => {
  let layout: ConfigSpace['layout'] | undefined;
  ctx.config$.subscribe((c) => (layout = c.layout)).unsubscribe();
  return layout!;
};
const irqs = (outputs: readonly { kind: string }[]) => outputs.filter((o) => o.kind === 'irq');

test('the MSI-X table is guest-writable memory of 16 bytes per vector; reserved bits read 0', async () => {
  const { session, req } = openSink();
  assertOk(await session.send(req.regionWrite(K.MSIX, 16, Buffer.alloc(16, 0xff))));
  const r = decodeRegionReadReply(assertOk(await session.send(req.regionRead(K.MSIX, 16, 16))).payload);
  assert.is(r.data?.toString('hex'), 'fcffffff' + 'ffffffff' + 'ffffffff' + '01000000');
  session.stop();
});

test('a vector masked in the table fires into the PBA and is delivered when unmasked', async () => {
  const { bed, session, req, ctx } = openSink();
  assertOk(await session.send(bed.irqs('msix', 0, 4)));
  assertOk(await session.send(req.regionWrite(K.MSIX, 16 + 12, u32(1))));
  ctx().trigger('msix', 1);
  assert.equal(irqs(session.outputs), []);
  const pba = decodeRegionReadReply(assertOk(await session.send(req.regionRead(K.MSIX, PBA, 8))).payload);
  assert.is(pba.data?.readBigUInt64LE(0), 0b10n);
  assertOk(await session.send(req.regionWrite(K.MSIX, 16 + 12, u32(0))));
  assert.equal(irqs(session.outputs), [{ kind: 'irq', type: 'msix', vector: 1 }]);
  const after = decodeRegionReadReply(assertOk(await session.send(req.regionRead(K.MSIX, PBA, 8))).payload);
  assert.is(after.data?.readBigUInt64LE(0), 0n);
  session.stop();
});

test('the function mask holds every vector pending until it is cleared', async () => {
  const { bed, session, req, ctx } = openSink();
  const flags = layoutOf(ctx()).msix!.offset + MsixReg.FLAGS;
  assertOk(await session.send(bed.irqs('msix', 0, 4)));
  assertOk(await session.send(req.configWrite(flags, u16(MsixFlags.ENABLE | MsixFlags.MASKALL))));
  ctx().trigger('msix', 0);
  ctx().trigger('msix', 3);
  ctx().trigger('msix', 3);
  assert.equal(irqs(session.outputs), []);
  assertOk(await session.send(req.configWrite(flags, u16(MsixFlags.ENABLE))));
  assert.equal(irqs(session.outputs), [0, 3].map((vector) => ({ kind: 'irq', type: 'msix', vector })));
  session.stop();
});

test('writes to the PBA are dropped; an access straddling the table end is EINVAL', async () => {
  const { session, req } = openSink();
  assertOk(await session.send(req.regionWrite(K.MSIX, PBA, u32(0xffffffff))));
  const pba = decodeRegionReadReply(assertOk(await session.send(req.regionRead(K.MSIX, PBA, 4))).payload);
  assert.is(pba.data?.readUInt32LE(0), 0);
  assertErrno(await session.send(req.regionRead(K.MSIX, 60, 8)), Errno.EINVAL);
  session.stop();
});

test('the rest of the MSI-X BAR reads zeros and ignores writes', async () => {
  const { session, req } = openSink();
  assertOk(await session.send(req.regionWrite(K.MSIX, 0x800, u32(5))));
  const r = decodeRegionReadReply(assertOk(await session.send(req.regionRead(K.MSIX, 0x800, 4))).payload);
  assert.is(r.data?.readUInt32LE(0), 0);
  session.stop();
});

test('an MSI vector masked in the capability is pending in its Pending register until unmasked', async () => {
  const { bed, session, req, ctx } = openSink();
  const msi = layoutOf(ctx()).msi!;
  const mask = msi.offset + MsiReg.MASK_64;
  const pending = msi.offset + MsiReg.PENDING_64;
  assertOk(await session.send(bed.irqs('msi', 0, 4)));
  assertOk(await session.send(req.configWrite(mask, u32(0b0100))));
  ctx().trigger('msi', 2);
  ctx().trigger('msi', 1);
  const p = decodeRegionReadReply(assertOk(await session.send(req.configRead(pending, 4))).payload);
  assert.is(p.data?.readUInt32LE(0), 0b0100);
  assertOk(await session.send(req.configWrite(mask, u32(0))));
  assert.equal(irqs(session.outputs), [1, 2].map((vector) => ({ kind: 'irq', type: 'msi', vector })));
  const cleared = decodeRegionReadReply(assertOk(await session.send(req.configRead(pending, 4))).payload);
  assert.is(cleared.data?.readUInt32LE(0), 0);
  session.stop();
});

test('INTx Disable in the command register holds INTx pending until it is cleared', async () => {
  const { bed, session, req, ctx } = openSink();
  assertOk(await session.send(bed.irqs('intx', 0, 1)));
  assertOk(await session.send(req.configWrite(PciConfig.COMMAND, u16(PciCommand.INTX_DISABLE))));
  ctx().trigger('intx');
  assert.equal(irqs(session.outputs), []);
  assertOk(await session.send(req.configWrite(PciConfig.COMMAND, u16(0))));
  assert.equal(irqs(session.outputs), [{ kind: 'irq', type: 'intx', vector: 0 }]);
  session.stop();
});

test('a trigger of a vector the device does not have throws a RangeError to device code', () => {
  const { session, ctx } = openSink();
  assert.throws(() => ctx().trigger('msix', 4), (e: unknown) => e instanceof RangeError);
  assert.throws(() => ctx().trigger('err', 1), (e: unknown) => e instanceof RangeError);
  session.stop();
});

test.run();
