import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { payloadFields, traceLine } from '../../../src/cli/format/payload.js';
import * as p from '../../../src/protocol/index.js';
import { traceOf } from '../../../src/wire/trace.js';

const header = (command: number, reply: boolean, size: number, error = 0) => ({
  id: 7,
  command,
  size,
  flags: (reply ? p.MessageType.REPLY : p.MessageType.COMMAND) | (error ? p.HeaderFlags.ERROR : 0),
  error,
});

const event = (command: number, reply: boolean, payload?: Buffer, error = 0) =>
  traceOf(reply ? 'in' : 'out', header(command, reply, 16 + (payload?.length ?? 0), error), 0, payload);

test('a region write shows region, offset, count and data in hex after a bar', () => {
  const payload = p.encodeRegionWriteRequest({ offset: 0x14, region: 0, data: Buffer.from('01000000', 'hex') });
  const e = event(p.Command.REGION_WRITE, false, payload);
  assert.is(payloadFields(e), 'region=0x0 offset=0x14 count=0x4 data=01000000');
  assert.match(traceLine(e), /-> command id=0x0007 REGION_WRITE size=0x24 flags=0x0 \| region=0x0 offset=0x14 count=0x4 data=01000000$/);
});

test('long data is cut after 16 bytes', () => {
  const payload = p.encodeDmaWriteRequest({ address: 0x1000, data: Buffer.alloc(32, 0xab) });
  assert.is(payloadFields(event(p.Command.DMA_WRITE, false, payload)), `address=0x1000 count=0x20 data=${'ab'.repeat(16)}...`);
});

test('a DMA map shows its flags, offset, address and size', () => {
  const payload = p.encodeDmaMapRequest({ flags: 3, offset: 0, address: 0x100000, size: 0x10000 });
  assert.is(payloadFields(event(p.Command.DMA_MAP, false, payload)), 'flags=0x3 offset=0x0 address=0x100000 size=0x10000');
});

test('replies are decoded with the reply codecs', () => {
  const info = p.encodeDeviceInfoReply({ flags: 3, num_regions: 9, num_irqs: 5 });
  assert.is(payloadFields(event(p.Command.DEVICE_GET_INFO, true, info)), 'flags=0x3 num_regions=0x9 num_irqs=0x5');
  const irq = p.encodeIrqInfoReply({ flags: 1, index: 2, count: 4 });
  assert.is(payloadFields(event(p.Command.DEVICE_GET_IRQ_INFO, true, irq)), 'index=0x2 flags=0x1 count=0x4');
});

test('an error reply, an empty payload and an unknown command add nothing', () => {
  assert.is(payloadFields(event(p.Command.REGION_READ, true, undefined, 22)), '');
  const e = event(p.Command.DEVICE_RESET, false, Buffer.alloc(0));
  assert.is(payloadFields(e), '');
  assert.not.match(traceLine(e), /\|/);
  assert.is(payloadFields(event(99, false, Buffer.alloc(8))), '');
});

test('a payload the codecs refuse is shown as undecodable, not thrown', () => {
  assert.match(payloadFields(event(p.Command.REGION_READ, false, Buffer.alloc(3))), /^\(undecodable: .+\)$/);
});

test.run();
