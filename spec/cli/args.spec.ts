import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseHexBytes, parseMs, parseNumber, parseRegion, parseWriteSpec, regionName } from '../../src/cli/args.js';
import { CliError, EXIT_USAGE } from '../../src/cli/errors.js';

const usage = (fn: () => unknown, pattern: RegExp) => {
  try {
    fn();
  } catch (err) {
    assert.instance(err, CliError);
    assert.is((err as CliError).exitCode, EXIT_USAGE);
    assert.match((err as Error).message, pattern);
    return;
  }
  assert.unreachable('should have thrown');
};

test('numbers are decimal or 0x hex', () => {
  assert.is(parseNumber('16', 'offset'), 16);
  assert.is(parseNumber('0x10', 'offset'), 16);
  assert.is(parseNumber('0X1F', 'offset'), 31);
  assert.is(parseNumber('0', 'offset'), 0);
});

test('anything else is a usage error naming the value', () => {
  for (const bad of ['', '-1', '1.5', '0x', 'ten', '1e3', '0x1g', '99999999999999999999']) {
    usage(() => parseNumber(bad, 'offset'), new RegExp(`^offset "${bad.replace(/[.]/g, '\\.')}" is not`));
  }
});

test('regions are an index or a name, in any case', () => {
  assert.equal(['bar0', 'bar5', 'rom', 'config', 'vga', 'BAR2', 'Config'].map(parseRegion), [0, 5, 6, 7, 8, 2, 7]);
  assert.is(parseRegion('3'), 3);
  assert.is(parseRegion('0x9'), 9);
  assert.equal([0, 7, 8, 9, 12].map(regionName), ['bar0', 'config', 'vga', 'region9', 'region12']);
});

test('an unknown region name is a usage error listing the names', () => {
  usage(() => parseRegion('bar9'), /^region "bar9" is neither an index nor one of bar0, bar1, .* vga$/);
  usage(() => parseRegion('-1'), /region "-1"/);
});

test('hex bytes are in memory order, with optional separators', () => {
  assert.is(parseHexBytes('01000000').toString('hex'), '01000000');
  assert.is(parseHexBytes('de:ad:be:ef').toString('hex'), 'deadbeef');
  assert.is(parseHexBytes('DE AD-be ef').toString('hex'), 'deadbeef');
});

test('hex bytes refuse a 0x prefix, odd digits and non-hex', () => {
  usage(() => parseHexBytes('0x01'), /without 0x/);
  usage(() => parseHexBytes('123'), /not pairs of hex digits/);
  usage(() => parseHexBytes('zz'), /not pairs of hex digits/);
  usage(() => parseHexBytes(''), /not pairs of hex digits/);
});

test('a write spec is REGION:OFFSET:HEXBYTES; the bytes may use colons', () => {
  const w = parseWriteSpec('bar0:0x14:01000000');
  assert.equal([w.region, w.offset, w.data.toString('hex')], [0, 0x14, '01000000']);
  assert.is(parseWriteSpec('config:4:06:00').data.toString('hex'), '0600');
  usage(() => parseWriteSpec('bar0:0x14'), /is not REGION:OFFSET:HEXBYTES/);
});

test('a duration must be above 0; a timeout may be 0 (none)', () => {
  assert.is(parseMs('250', 'duration'), 250);
  assert.is(parseMs('0', 'timeout'), 0);
  usage(() => parseMs('0', 'duration'), /duration must be above 0/);
});

test.run();
