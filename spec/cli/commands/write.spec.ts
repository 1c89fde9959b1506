import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { run, serveSample, tempDir, type Result, type Served } from '../fixtures/cli.js';

const dir = tempDir();
let ram: Served;
let dma: Served;
const test = suite('write');

test.before(async () => {
  ram = await serveSample('ram', dir.path);
  dma = await serveSample('dma-engine', dir.path);
});
test.after(async () => {
  await Promise.all([ram.stop(), dma.stop()]);
  dir.remove();
});

const ok = (r: Result) => {
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stderr, '');
};

test('prints nothing on success; a read afterwards returns the bytes (by message)', async () => {
  const w = await run(['write', dma.socketPath, 'bar0', '0x8', 'de:ad:be:ef']);
  ok(w);
  assert.is(w.stdout, '');
  const r = await run(['read', dma.socketPath, 'bar0', '0x8', '4']);
  ok(r);
  assert.match(r.stdout, /^00000008: de ad be ef /);
});

test('a trapped register of the RAM card keeps what was written (SCRATCH)', async () => {
  ok(await run(['write', ram.socketPath, 'bar2', '8', '11223344']));
  assert.match((await run(['read', ram.socketPath, 'bar2', '8', '4'])).stdout, /^00000008: 11 22 33 44 /);
});

test('a write in the mapped area goes through the mapping and is read back', async () => {
  ok(await run(['write', ram.socketPath, 'bar2', '0x2000', '68656c6c6f']));
  assert.match((await run(['read', ram.socketPath, 'bar2', '0x2000', '5'])).stdout, /^00002000: 68 65 6c 6c 6f .*\|hello\|$/m);
});

test('config space writes reach the device (command register)', async () => {
  ok(await run(['write', dma.socketPath, 'config', '4', '0200']));
  assert.match((await run(['read', dma.socketPath, 'config', '4', '2'])).stdout, /^00000004: 02 00 /);
});

const fails = (r: Result, code: number, message: string) => {
  assert.is(r.code, code, r.stderr);
  assert.is(r.stderr, `vfio-user: ${message}\n`);
  assert.is(r.stdout, '');
};

test('bytes must be hex pairs in memory order, without 0x', async () => {
  fails(await run(['write', dma.socketPath, 'bar0', '0', '0x01']), 2, 'bytes "0x01": give bytes in memory order without 0x (e.g. 01000000 writes the 32-bit value 1)');
  fails(await run(['write', dma.socketPath, 'bar0', '0', 'abc']), 2, 'bytes "abc" are not pairs of hex digits (e.g. 01000000 or de:ad:be:ef)');
});

test('a region that does not exist, an offset beyond the region, a write past its end', async () => {
  fails(await run(['write', dma.socketPath, 'rom', '0', '00']), 1, 'region rom does not exist on this device (size 0)');
  fails(await run(['write', dma.socketPath, 'bar0', '0x4000', '00']), 1, 'offset 0x4000 is beyond region bar0 (size 0x1000)');
  fails(await run(['write', dma.socketPath, 'bar0', '0xfff', '0000']), 1, '0x2 bytes at offset 0xfff run past the end of region bar0 (size 0x1000)');
});

test.run();
