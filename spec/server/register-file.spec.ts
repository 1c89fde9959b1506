import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { registerFile } from '../../src/server/index.js';

const file = registerFile([
  { name: 'CTRL', offset: 0x0, width: 4, reset: 0x10 },
  { name: 'STATUS', offset: 0x4, width: 2, writable: 0, rw1c: 0x00f0, reset: 0x00ff },
  { name: 'SET', offset: 0x6, width: 1, writable: 0x0f, rw1s: 0xf0 },
  { name: 'ID', offset: 0x8, width: 4, writable: 0, reset: 0xdeadbeef },
  { name: 'BELL', offset: 0xc, width: 4, writeOnly: true },
] as const);

test('reset values, little-endian reads across registers, gaps and write-only registers read 0', () => {
  const v = file.initial();
  assert.equal(v, { CTRL: 0x10, STATUS: 0xff, SET: 0, ID: 0xdeadbeef, BELL: 0 });
  assert.is(file.size, 0x10);
  assert.is(file.read(v, 0, 0x10).toString('hex'), '10000000ff000000efbeadde00000000');
  assert.is(file.read(v, 0x5, 4).toString('hex'), '000000ef', 'the high byte of STATUS, SET, the gap, the low byte of ID');
});

test('writes follow the rules: writable bits, read-only, write-1-to-clear, write-1-to-set, byte lanes', () => {
  const v = file.initial();
  const w = file.write(v, 0x0, Buffer.from('78563412' + '3000' + 'ff' + '00' + 'ffffffff', 'hex'));
  assert.equal(w.values, { CTRL: 0x12345678, STATUS: 0xcf, SET: 0xff, ID: 0xdeadbeef, BELL: 0 });
  assert.equal(
    w.changes.map((c) => [c.name, c.before, c.after, c.written]),
    [
      ['CTRL', 0x10, 0x12345678, 0x12345678],
      ['STATUS', 0xff, 0xcf, 0x30],
      ['SET', 0, 0xff, 0xff],
      ['ID', 0xdeadbeef, 0xdeadbeef, 0xffffffff],
    ],
  );
  const lane = file.write(w.values, 0x1, Buffer.of(0xaa));
  assert.is(lane.values.CTRL, 0x1234aa78, 'one byte changes its lane only');
  assert.equal(lane.changes.map((c) => c.written), [0xaa00]);
});

test('a write-only register keeps nothing but shows what was written (a doorbell)', () => {
  const w = file.write(file.initial(), 0xc, Buffer.of(1, 0, 0, 0));
  assert.equal(w.changes, [{ name: 'BELL', before: 0, after: 0, written: 1 }]);
  assert.is(w.values.BELL, 0);
});

test('set ignores the guest rules; image and fromImage round-trip', () => {
  const v = file.set(file.initial(), { STATUS: 0x1234, ID: 7 });
  assert.equal([v.STATUS, v.ID], [0x1234, 7]);
  assert.equal(file.fromImage(file.image(v)), v);
  assert.throws(() => file.fromImage(Buffer.alloc(3)), /3 bytes/);
});

test('overlapping registers and duplicate names are refused', () => {
  assert.throws(() => registerFile([{ name: 'A', offset: 0, width: 4 }, { name: 'B', offset: 2, width: 2 }]), /overlap/);
  assert.throws(() => registerFile([{ name: 'A', offset: 0, width: 1 }, { name: 'A', offset: 4, width: 1 }]), /twice/);
});

test.run();
