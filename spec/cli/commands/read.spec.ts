import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { lines, run, serveSample, tempDir, type Result, type Served } from '../fixtures/cli.js';

const dir = tempDir();
let ram: Served;
let dma: Served;
const test = suite('read');

test.before(async () => {
  ram = await serveSample('ram', dir.path);
  dma = await serveSample('dma-engine', dir.path);
});
test.after(async () => {
  await Promise.all([ram.stop(), dma.stop()]);
  dir.remove();
});

const fails = (r: Result, code: number, message: string) => {
  assert.is(r.code, code, r.stderr);
  assert.is(r.stderr, `vfio-user: ${message}\n`);
  assert.is(r.stdout, '');
};

test('prints a hexdump, 16 bytes a line, offsets counted in the region', async () => {
  const r = await run(['read', ram.socketPath, 'bar2', '0', '20']);
  assert.is(r.code, 0, r.stderr);
  // MAGIC "RAM!" (0x52414d21 little-endian) then SIZE 0xf000.
  assert.equal(lines(r.stdout), [
    '00000000: 21 4d 41 52 00 f0 00 00  00 00 00 00 00 00 00 00  |!MAR............|',
    '00000010: 00 00 00 00                                       |....|',
  ]);
});

test('regions by index or name, offsets and counts in decimal or hex', async () => {
  const byName = await run(['read', dma.socketPath, 'config', '0x0', '0x4']);
  const byIndex = await run(['read', dma.socketPath, '7', '0', '4']);
  assert.is(byName.stdout, '00000000: f4 1a f0 10                                       |....|\n');
  assert.is(byIndex.stdout, byName.stdout);
});

test('without COUNT it reads 16 bytes, cut at the region\'s end', async () => {
  const r = await run(['read', dma.socketPath, 'bar0', '0xff8']);
  assert.is(r.code, 0, r.stderr);
  // 8 bytes, then the empty half-line padded so that the text column stays aligned.
  assert.is(r.stdout, `00000ff8: ${'00 '.repeat(7)}00${' '.repeat(2 + 23 + 2)}|........|\n`);
});

test('a region name that does not exist is a usage error', async () => {
  fails(await run(['read', dma.socketPath, 'bar9', '0']), 2, 'region "bar9" is neither an index nor one of bar0, bar1, bar2, bar3, bar4, bar5, rom, config, vga');
});

test('a region the device does not have', async () => {
  fails(await run(['read', dma.socketPath, 'bar1', '0']), 1, 'region bar1 does not exist on this device (size 0)');
  fails(await run(['read', dma.socketPath, '12', '0']), 1, 'region 12 does not exist: the device has 9 regions');
});

test('an offset beyond the region, and a range running past its end', async () => {
  fails(await run(['read', dma.socketPath, 'bar0', '0x1000']), 1, 'offset 0x1000 is beyond region bar0 (size 0x1000)');
  fails(await run(['read', dma.socketPath, 'bar0', '0xff8', '16']), 1, '0x10 bytes at offset 0xff8 run past the end of region bar0 (size 0x1000)');
});

test('numbers that are not numbers are usage errors', async () => {
  fails(await run(['read', dma.socketPath, 'bar0', 'zz']), 2, 'offset "zz" is not a non-negative integer (decimal, or hex with 0x)');
  fails(await run(['read', dma.socketPath, 'bar0', '0', '0']), 2, 'count must be above 0');
});

test.run();
