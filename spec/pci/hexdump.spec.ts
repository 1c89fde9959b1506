import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildConfigSpace, hexdumpConfig } from '../../src/pci/index.js';
import { conventional, express } from './fixtures.js';

/** Reads a dump back the way lspci -F does: offset, colon, hex bytes. */
const undump = (lines: readonly string[]): Buffer => {
  const out: number[] = [];
  for (const line of lines) {
    const m = /^([0-9a-f]+): ((?:[0-9a-f]{2} ?)+)$/.exec(line);
    if (!m) throw new Error(`bad line ${line}`);
    assert.is(parseInt(m[1] as string, 16), out.length);
    out.push(...(m[2] as string).trim().split(' ').map((h) => parseInt(h, 16)));
  }
  return Buffer.from(out);
};

test('256 bytes dump as 16 lines with two-digit offsets', () => {
  const bytes = buildConfigSpace(conventional).bytes;
  const lines = hexdumpConfig(bytes);
  assert.is(lines.length, 16);
  assert.is(lines[0], '00: 4f 49 c8 0d 00 00 10 00 02 00 80 08 00 00 00 00');
  assert.is(lines[1], '10: 00 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00');
  assert.is(lines[15]?.slice(0, 4), 'f0: ');
  assert.equal(undump(lines), bytes);
});

test('4 KiB dump as 256 lines with three-digit offsets', () => {
  const bytes = buildConfigSpace(express).bytes;
  const lines = hexdumpConfig(bytes);
  assert.is(lines.length, 256);
  assert.is(lines[0]?.slice(0, 5), '000: ');
  assert.is(lines[16], '100: 03 00 c1 10 77 66 55 44 33 22 11 00 0b 00 01 00');
  assert.equal(undump(lines), bytes);
});

test('a short read ends with a partial line', () => {
  assert.equal(hexdumpConfig(Buffer.from('000102030405060708090a0b0c0d0e0f10', 'hex')), [
    '00: 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f',
    '10: 10',
  ]);
});

test.run();
