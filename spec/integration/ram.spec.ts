import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RAM_MAGIC, RamReg, ramDevice } from '../../src/samples/index.js';
import { RegionFlags } from '../../src/protocol/index.js';
import { modes, session } from './harness.js';

const PAGE = 0x1000;
const SIZE = 256 * 1024;
const sum = (b: Buffer) => b.reduce((n, x) => (n + x) >>> 0, 0);
const pattern = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + 7) & 0xff));

for (const [mode, options] of Object.entries(modes)) {
  const test = suite(`ram, ${mode} mode`);

  test('the trapped register page answers by message', async () => {
    const s = await session(ramDevice(SIZE), options);
    const bar = s.dev.region(2);
    assert.is((await bar.read(RamReg.MAGIC, 4)).readUInt32LE(), RAM_MAGIC);
    assert.is((await bar.read(RamReg.SIZE, 4)).readUInt32LE(), SIZE - PAGE);
    await bar.write(RamReg.SCRATCH, Buffer.from('abcd'));
    assert.is((await bar.read(RamReg.SCRATCH, 4)).toString(), 'abcd');
    await s.close();
  });

  test(mode === 'fd' ? 'the sparse area is mapped, so nothing is posted' : 'a client without fds is offered no mapping', async () => {
    const s = await session(ramDevice(SIZE), options);
    const { dev } = s;
    assert.is((dev.regions[2]!.flags & RegionFlags.MMAP) !== 0, mode === 'fd');
    assert.is(dev.postedWrites, mode !== 'fd', 'posted writes only while nothing is mappable');
    const areas = dev.region(2).areas;
    assert.equal(
      areas.map((a) => [a.offset, a.size]),
      mode === 'fd' ? [[PAGE, SIZE - PAGE]] : [],
    );
    await s.close();
  });

  test('a large write and read of the area round-trip, and the device sees the same bytes', async () => {
    const s = await session(ramDevice(SIZE), options);
    const bar = s.dev.region(2);
    const data = pattern(SIZE - PAGE);
    let sent = 0;
    const traced = s.dev.rx.trace$.subscribe((e) => e.direction === 'out' && e.commandName === 'REGION_WRITE' && (sent += 1));
    await bar.write(PAGE, data);
    assert.ok((await bar.read(PAGE, data.length)).equals(data));
    assert.is((await bar.read(RamReg.CHECKSUM, 4)).readUInt32LE(), sum(data));
    // By message the 252 KiB go as 128 KiB request bodies at most; mapped, none at all.
    assert.is(sent, mode === 'fd' ? 0 : 2);
    traced.unsubscribe();
    await s.close();
  });

  test('FILL (a trapped write) changes what the area holds', async () => {
    const s = await session(ramDevice(SIZE), options);
    const bar = s.dev.region(2);
    await bar.write(RamReg.FILL, Buffer.from([0x5a, 0, 0, 0]));
    assert.ok((await bar.read(SIZE - 16, 16)).equals(Buffer.alloc(16, 0x5a)));
    await s.close();
  });

  test('reset zeroes the memory', async () => {
    const s = await session(ramDevice(SIZE), options);
    const bar = s.dev.region(2);
    await bar.write(PAGE, Buffer.from('persist?'));
    await s.dev.reset();
    assert.ok((await bar.read(PAGE, 8)).equals(Buffer.alloc(8)));
    await s.close();
  });

  test.run();
}
