import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  PciCapId,
  PciExtCapId,
  baseClassName,
  capabilityName,
  extCapabilityName,
} from '../../src/pci/index.js';

test('names the capabilities this module emulates', () => {
  assert.equal(
    [PciCapId.PM, PciCapId.MSI, PciCapId.VNDR, PciCapId.EXP, PciCapId.MSIX].map(capabilityName),
    ['Power Management', 'MSI', 'Vendor Specific Information', 'Express', 'MSI-X'],
  );
  assert.equal(
    [PciExtCapId.ERR, PciExtCapId.DSN, PciExtCapId.VNDR].map(extCapabilityName),
    ['Advanced Error Reporting', 'Device Serial Number', 'Vendor Specific Information'],
  );
});

test('names unknown ids by their hex value instead of failing', () => {
  assert.is(capabilityName(0xee), 'Capability 0xee');
  assert.is(extCapabilityName(0x7fff), 'Extended Capability 0x7fff');
  assert.is(baseClassName(0x55), 'Class 0x55');
  assert.is(baseClassName(0x02), 'Network controller');
});

test.run();
