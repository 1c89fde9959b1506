// The "Server limits" line of `info`: what the server sent, and the spec's defaults marked as such.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Device } from '../../../src/client/index.js';
import { parseCapabilities } from '../../../src/protocol/index.js';
import { limitsLine } from '../../../src/cli/format/info.js';

const withCaps = (json: unknown, twinSocket = false) => ({ caps: parseCapabilities(json), twinSocket }) as unknown as Device;

test('limits the server sent are shown as they are', () => {
  const line = limitsLine(withCaps({ capabilities: { max_msg_fds: 8, max_data_xfer_size: 65536, max_dma_maps: 10, pgsizes: 4096, write_multiple: true, twin_socket: { supported: true, fd_index: 0 } } }, true));
  assert.is(line, 'max_msg_fds 8, max_data_xfer_size 0x10000, max_dma_maps 10, pgsizes 0x1000, twin_socket yes, write_multiple yes');
});

test('limits the server never sent are marked as the spec defaults, not reported as the server\'s', () => {
  const line = limitsLine(withCaps({ capabilities: { max_msg_fds: 8 } }));
  assert.is(line, 'max_msg_fds 8, max_data_xfer_size 0x100000 (default), max_dma_maps 65535 (default), pgsizes 0x1000 (default), twin_socket no (default), write_multiple no (default)');
});

test('a reply without JSON: every limit is a default', () => {
  assert.is((limitsLine(withCaps(undefined)).match(/\(default\)/g) ?? []).length, 6);
});

test.run();
