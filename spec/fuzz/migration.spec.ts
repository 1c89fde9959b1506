// The migration fuzz driver (migration-fuzz.ts) for a few cases per device, each in its own process
// (it serves the device and watches its own fds and unhandled errors): DEVICE_FEATURE, MIG_DATA_*,
// dirty logging and migration sequences from a hostile client, checked after every case.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const driver = join(import.meta.dirname, 'migration-fuzz.ts');
const tsx = join(import.meta.dirname, '..', '..', 'node_modules', '.bin', 'tsx');

for (const device of ['gpio', 'dma-engine', 'ram', 'custom']) {
  test(`${device}: 40 hostile migration scripts, none crashes, hangs, leaks or leaves a wrong state`, () => {
    const r = spawnSync(tsx, [driver, '--device', device, '--cases', '40', '--seed', '11'], { encoding: 'utf8', timeout: 600_000 });
    assert.is(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^${device}: OK$`, 'm'));
  });
}

test.run();
