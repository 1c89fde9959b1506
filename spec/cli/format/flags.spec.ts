import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { deviceFlags, flagNames, irqFlags, regionFlags } from '../../../src/cli/format/flags.js';
import { RegionFlags } from '../../../src/protocol/index.js';

test('flags are shown in hex with the spec\'s names of their bits', () => {
  assert.is(deviceFlags(3), '0x3 (RESET PCI)');
  assert.is(regionFlags(0xf), '0xf (READ WRITE MMAP CAPS)');
  assert.is(irqFlags(0x5), '0x5 (EVENTFD AUTOMASKED)');
  assert.is(regionFlags(0), '0x0');
});

test('bits without a name are kept, in hex', () => {
  assert.equal(flagNames(0x103, RegionFlags), ['READ', 'WRITE', '0x100']);
  assert.is(deviceFlags(0x80000002), '0x80000002 (PCI 0x80000000)');
});

test.run();
