import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as protocol from '../../src/protocol/index.js';

// The codec names every other layer relies on: encode/decode x Request/Reply for each command.
const families = [
  'Version', 'DmaMap', 'DmaUnmap', 'DeviceInfo', 'RegionInfo', 'IoFds', 'IrqInfo', 'SetIrqs', 'RegionRead',
  'RegionWrite', 'DmaRead', 'DmaWrite', 'DeviceReset', 'WriteMulti', 'DeviceFeature', 'MigDataRead', 'MigDataWrite',
];

test('exports a request and a reply codec pair for every command', () => {
  const exported = protocol as unknown as Record<string, unknown>;
  for (const family of families) {
    for (const name of [`encode${family}Request`, `decode${family}Request`, `encode${family}Reply`, `decode${family}Reply`]) {
      assert.type(exported[name], 'function', name);
    }
  }
});

test('re-exports constants, errors and the header codec', () => {
  assert.is(protocol.Command.MIG_DATA_WRITE, 18);
  assert.is(protocol.Errno.EOVERFLOW, 75);
  assert.type(protocol.MalformedMessageError, 'function');
  assert.type(protocol.decodeHeader, 'function');
  assert.type(protocol.parseCapabilities, 'function');
});

test.run();
