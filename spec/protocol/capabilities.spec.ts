import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { capabilitiesJson, capabilitiesSchema, parseCapabilities } from '../../src/protocol/capabilities.js';
import { CapabilityDefaults } from '../../src/protocol/constants.js';
import { arb, assertMalformed, rec } from './helpers.js';

test('fills the spec defaults when the JSON is absent', () => {
  assert.equal(parseCapabilities(undefined), {
    max_msg_fds: 1,
    max_data_xfer_size: 1048576,
    max_dma_maps: 65535,
    pgsizes: 4096,
    twin_socket: { supported: false },
    write_multiple: false,
    unknownKeys: [],
    defaulted: ['max_msg_fds', 'max_data_xfer_size', 'max_dma_maps', 'pgsizes', 'twin_socket', 'write_multiple'],
  });
});

test('fills defaults for keys the peer left out', () => {
  const caps = parseCapabilities({ capabilities: { max_msg_fds: 8 } });
  assert.equal(caps.defaulted, ['max_data_xfer_size', 'max_dma_maps', 'pgsizes', 'twin_socket', 'write_multiple']);
  assert.is(caps.max_msg_fds, 8);
  assert.is(caps.max_data_xfer_size, CapabilityDefaults.max_data_xfer_size);
  assert.is(caps.pgsizes, CapabilityDefaults.pgsizes);
});

test("parses QEMU's proposal, legacy migration included", () => {
  const qemu = JSON.parse(
    '{"capabilities":{"migration":{"pgsize":4096,"max_bitmap_size":268435456},"max_msg_fds":16,' +
      '"max_data_xfer_size":1048576,"pgsizes":4096,"max_dma_maps":65535,"write_multiple":true}}',
  );
  assert.equal(parseCapabilities(qemu), {
    max_msg_fds: 16,
    max_data_xfer_size: 1048576,
    max_dma_maps: 65535,
    pgsizes: 4096,
    twin_socket: { supported: false },
    write_multiple: true,
    migration: { pgsize: 4096, max_bitmap_size: 268435456 },
    unknownKeys: [],
    defaulted: ['twin_socket'],
  });
});

test("parses libvfio-user's reply with twin_socket", () => {
  const reply = JSON.parse('{"capabilities":{"max_msg_fds":8,"max_data_xfer_size":1048576,"twin_socket":{"supported":true,"fd_index":0}}}');
  assert.equal(parseCapabilities(reply).twin_socket, { supported: true, fd_index: 0 });
});

test('reports unknown keys at every level as dotted paths', () => {
  const caps = parseCapabilities({ capabilities: { sparse_mmap_fds: true, twin_socket: { extra: 1 } }, vendor: {} });
  assert.equal(caps.unknownKeys, ['capabilities.sparse_mmap_fds', 'capabilities.twin_socket.extra', 'vendor']);
});

test('rejects a wrongly typed value naming the key', () => {
  assertMalformed(() => parseCapabilities({ capabilities: { max_msg_fds: '8' } }), 'capabilities.max_msg_fds');
  assertMalformed(() => parseCapabilities({ capabilities: { write_multiple: 1 } }), 'capabilities.write_multiple');
  assertMalformed(() => parseCapabilities({ capabilities: { twin_socket: { supported: 'yes' } } }), 'capabilities.twin_socket.supported');
  assertMalformed(() => parseCapabilities({ capabilities: { migration: { pgsize: -4096 } } }), 'capabilities.migration.pgsize');
  assertMalformed(() => parseCapabilities({ capabilities: { pgsizes: 4096.5 } }), 'capabilities.pgsizes');
  assertMalformed(() => parseCapabilities({ capabilities: [] }), 'capabilities');
});

test('rejects a document that is not an object with field json', () => {
  assertMalformed(() => parseCapabilities([1]), 'json');
  assertMalformed(() => parseCapabilities('caps'), 'json');
});

test('capabilitiesJson emits only the keys given, in a compact document', () => {
  const json = capabilitiesJson({ max_msg_fds: 8, max_data_xfer_size: 1048576, twin_socket: { supported: true, fd_index: 0 } });
  assert.is(
    JSON.stringify(json),
    '{"capabilities":{"max_msg_fds":8,"max_data_xfer_size":1048576,"twin_socket":{"supported":true,"fd_index":0}}}',
  );
  assert.is(JSON.stringify(capabilitiesJson({})), '{"capabilities":{}}');
});

test('capabilitiesJson refuses values the schema rejects', () => {
  assert.throws(() => capabilitiesJson({ max_msg_fds: -1 }), (e: unknown) => e instanceof RangeError);
  assert.throws(() => capabilitiesJson({ pgsizes: 0.5 }), (e: unknown) => e instanceof RangeError);
});

test('capabilitiesJson then parseCapabilities keeps every value given', () => {
  const input = rec({
    max_msg_fds: arb.u32(),
    max_data_xfer_size: arb.u64(),
    max_dma_maps: arb.u32(),
    pgsizes: arb.u64(),
    write_multiple: fc.boolean(),
    twin_socket: rec({ supported: fc.boolean(), fd_index: fc.nat(16) }),
  });
  fc.assert(
    fc.property(input, (caps) => {
      const parsed = parseCapabilities(JSON.parse(JSON.stringify(capabilitiesJson(caps))));
      const { unknownKeys, defaulted: _defaulted, ...rest } = parsed;
      assert.equal(unknownKeys, []);
      assert.equal(rest, caps);
    }),
  );
});

test('the schema accepts unknown keys and keeps them', () => {
  assert.equal(capabilitiesSchema.parse({ future: [1] }), { future: [1] });
});

test.run();
