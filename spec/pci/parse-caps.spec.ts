import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { formatConfig, parseConfigSpace } from '../../src/pci/index.js';

/** A header claiming capabilities, whose list starts at `first`. */
const hostile = (first: number, size = 256): Buffer => {
  const b = Buffer.alloc(size);
  b.writeUInt32LE(0xabcd1234, 0);
  b.writeUInt16LE(0x0010, 0x06);
  b[0x34] = first;
  return b;
};

/** Writes a standard capability header. */
const cap = (b: Buffer, at: number, id: number, next: number): Buffer => {
  b[at] = id;
  b[at + 1] = next;
  return b;
};

test('a capability pointing at itself stops with a warning', () => {
  const p = parseConfigSpace(cap(hostile(0x40), 0x40, 0x0a, 0x40));
  assert.is(p.capabilities.length, 1);
  assert.equal(p.warnings, ['capability list loops back to 0x40; list walk stopped']);
});

test('a longer loop stops after visiting each capability once', () => {
  const b = cap(cap(cap(hostile(0x40), 0x40, 0x01, 0x50), 0x50, 0x05, 0x60), 0x60, 0x11, 0x50);
  const p = parseConfigSpace(b);
  assert.equal(p.capabilities.map((c) => c.offset), [0x40, 0x50, 0x60]);
  assert.match(p.warnings[0] ?? '', /loops back to 0x50/);
});

test('pointers into the header stop the walk', () => {
  assert.match(parseConfigSpace(hostile(0x20)).warnings[0] ?? '', /0x20 points into the header/);
  const p = parseConfigSpace(cap(hostile(0x40), 0x40, 0x01, 0x3c));
  assert.is(p.capabilities.length, 1);
  assert.match(p.warnings[0] ?? '', /0x3c points into the header/);
});

test('a pointer beyond a short read stops the walk', () => {
  const p = parseConfigSpace(hostile(0x80, 128));
  assert.equal(p.capabilities, []);
  assert.match(p.warnings[0] ?? '', /0x80 is beyond the 128-byte config space/);
});

test('reserved low pointer bits are ignored', () => {
  const p = parseConfigSpace(cap(hostile(0x43), 0x40, 0x0a, 0));
  assert.equal(p.capabilities.map((c) => c.offset), [0x40]);
});

test('a capability whose body runs past the space is listed but not decoded', () => {
  const p = parseConfigSpace(cap(hostile(0xfc), 0xfc, 0x11, 0));
  assert.equal(p.capabilities.map((c) => [c.offset, c.kind, c.name]), [[0xfc, 'other', 'MSI-X']]);
  assert.match(p.warnings[0] ?? '', /MSI-X capability at 0xfc runs past the config space/);
});

test('a vendor capability with a bad length is not decoded', () => {
  const b = cap(hostile(0x40), 0x40, 0x09, 0);
  b[0x42] = 2;
  assert.match(parseConfigSpace(b).warnings[0] ?? '', /bad length 2/);
});

test('a chain through every dword slot ends after 48 capabilities', () => {
  const b = hostile(0x40);
  for (let at = 0x40; at < 0x100; at += 4) cap(b, at, 0x0a, at + 4 < 0x100 ? at + 4 : 0x40);
  const p = parseConfigSpace(b);
  assert.is(p.capabilities.length, 48);
  assert.is(p.warnings.length, 1);
});

test('a 64-bit BAR in the last slot and an unknown header type are warnings, not errors', () => {
  const b = hostile(0);
  b.writeUInt32LE(0x4, 0x24);
  assert.match(parseConfigSpace(b).warnings[0] ?? '', /BAR 5 claims 64 bits/);
  b[0x0e] = 0x7f;
  const p = parseConfigSpace(b);
  assert.equal([p.bars, p.capabilities], [[], []]);
  assert.match(p.warnings[0] ?? '', /unknown header type 127/);
});

test('extended capabilities: a self-loop, a pointer below 0x100 and an all-ones header warn and stop', () => {
  const b = hostile(0, 4096);
  b.writeUInt32LE(0x10010001, 0x100);
  let p = parseConfigSpace(b);
  assert.equal(p.extendedCapabilities.map((c) => c.offset), [0x100]);
  assert.match(p.warnings[0] ?? '', /loops back to 0x100/);
  b.writeUInt32LE(0x04010001, 0x100);
  assert.match(parseConfigSpace(b).warnings[0] ?? '', /0x040 points below 0x100/);
  b.writeUInt32LE(0xffffffff, 0x100);
  p = parseConfigSpace(b);
  assert.equal(p.extendedCapabilities, []);
  assert.match(p.warnings[0] ?? '', /all ones/);
});

test('extended capabilities: a DSN at the very end is listed but not decoded', () => {
  const b = hostile(0, 4096);
  b.writeUInt32LE(0xffc10001, 0x100);
  b.writeUInt32LE(0x00010003, 0xffc);
  const p = parseConfigSpace(b);
  assert.equal(p.extendedCapabilities.map((c) => [c.offset, c.serial]), [[0x100, undefined], [0xffc, undefined]]);
  assert.match(p.warnings[0] ?? '', /Device Serial Number extended capability at 0xffc runs past/);
});

test('any 256-byte or 4 KiB contents parse and format without throwing, with bounded lists', () => {
  const space = fc.oneof(fc.uint8Array({ minLength: 256, maxLength: 256 }), fc.uint8Array({ minLength: 4096, maxLength: 4096 }));
  fc.assert(
    fc.property(space, fc.nat(255), (raw, first) => {
      const b = Buffer.from(raw);
      b[0x06] = (b[0x06] ?? 0) | 0x10;
      b[0x34] = first;
      const p = parseConfigSpace(b);
      assert.ok(p.capabilities.length <= 48);
      assert.ok(p.extendedCapabilities.length <= 960);
      assert.ok(formatConfig(p).length > 0);
    }),
    { numRuns: 300 },
  );
});

test.run();
