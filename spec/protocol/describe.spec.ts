import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as p from '../../src/protocol/index.js';

const test = suite('describePayload');

test('decodes the commands the trace format shows, requests and replies', () => {
  assert.equal(p.describePayload(p.Command.REGION_READ, false, p.encodeRegionReadRequest({ region: 2, offset: 0x10, count: 4 })), { region: 2, offset: 0x10, count: 4, data: undefined });
  assert.equal(p.describePayload(p.Command.MIG_DATA_READ, true, p.encodeMigDataReadReply({ data: Buffer.from('abcd', 'hex') })), { argsz: 10, size: 2, data: 'abcd' });
  assert.equal(p.describePayload(p.Command.MIG_DATA_WRITE, false, p.encodeMigDataWriteRequest({ data: Buffer.alloc(20, 1) })), { argsz: 28, size: 20, data: `${'01'.repeat(16)}...` });
  assert.equal(p.describePayload(p.Command.DEVICE_FEATURE, false, p.encodeDeviceFeatureRequest({ argsz: 16, flags: 0x10001, data: Buffer.alloc(0) })), { argsz: 16, flags: 0x10001, feature: 1, data: undefined });
  const ioFds = p.encodeIoFdsReply({ index: 0, entries: [{ type: 0, offset: 0, size: 4, fd_index: 0, flags: 0, datamatch: 0 }] });
  assert.equal(p.describePayload(p.Command.DEVICE_GET_REGION_IO_FDS, true, ioFds), { index: 0, count: 1, entries: 1 });
  assert.equal(p.describePayload(p.Command.DMA_UNMAP, true, p.encodeDmaUnmapReply({ argsz: 24, flags: 2, address: 0, size: 0 })), { flags: 2, address: 0, size: 0 });
});

test('an empty payload, an unknown command: no fields', () => {
  assert.equal(p.describePayload(p.Command.DEVICE_RESET, false, Buffer.alloc(0)), {});
  assert.equal(p.describePayload(99, false, Buffer.alloc(8)), {});
});

test('a payload the codecs refuse says why instead of throwing', () => {
  const fields = p.describePayload(p.Command.REGION_READ, false, Buffer.alloc(3));
  assert.equal(Object.keys(fields), ['undecodable']);
  assert.match(String(fields['undecodable']), /REGION_READ/);
});

test.run();
