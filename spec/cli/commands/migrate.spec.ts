import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { run, serveSample, tempDir } from '../fixtures/cli.js';

const source = tempDir();
const dest = tempDir();
const test = suite('migrate');
test.after(() => {
  source.remove();
  dest.remove();
});

test('moves the state of one dma-engine into another: progress on stderr, one line on stdout, the destination reads it back', async () => {
  const a = await serveSample('dma-engine', source.path);
  const b = await serveSample('dma-engine', dest.path);
  try {
    assert.is((await run(['write', a.socketPath, 'bar0', '0x8', 'de:ad:be:ef'])).code, 0);
    const r = await run(['migrate', a.socketPath, b.socketPath]);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stderr, 'pre-copy round 1: 0 bytes\nstop-and-copy: 8271 bytes\n'.replace('8271', r.stderr.match(/stop-and-copy: (\d+)/)?.[1] ?? '?'));
    assert.match(r.stdout, new RegExp(`^migrated ${a.socketPath} to ${b.socketPath}: \\d+ bytes\\n$`));
    const read = await run(['read', b.socketPath, 'bar0', '0x8', '4']);
    assert.match(read.stdout, /^00000008: de ad be ef /);
    const info = await run(['info', a.socketPath]);
    assert.match(info.stdout, /^Features: migration \(stop-copy, pre-copy; now STOP\), dirty page logging$/m, 'the source is left stopped');
  } finally {
    await a.stop();
    await b.stop();
  }
});

test('a destination of another kind refuses the state: exit 1, and the source runs again', async () => {
  const a = await serveSample('gpio', source.path);
  const b = await serveSample('ram', dest.path);
  try {
    const r = await run(['migrate', a.socketPath, b.socketPath, '--pre-copy-rounds', '0']);
    assert.is(r.code, 1);
    assert.match(r.stderr, /EINVAL/);
    const info = await run(['info', a.socketPath]);
    assert.match(info.stdout, /^Features: migration \(stop-copy; now RUNNING\), dirty page logging$/m);
  } finally {
    await a.stop();
    await b.stop();
  }
});

test.run();
