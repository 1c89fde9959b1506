// Bounded fuzzing of the server, every sample device: hostile clients over a real socket (see
// server-fuzz.ts). `npm run fuzz` runs longer; FUZZ_SEED replays a seed here.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sampleNames } from '../../src/samples/index.js';
import { fuzzServer } from './server-fuzz.js';

const seed = Number(process.env['FUZZ_SEED'] ?? 20261206);
const CASES = 500;

for (const [i, device] of sampleNames.entries()) {
  test(`${device}: ${CASES} hostile clients (seed ${seed + i}): no crash, hang, fd growth or unhandled error; the next client is served`, async () => {
    const report = await fuzzServer(device, CASES, seed + i);
    assert.equal(report.badReplies, [], 'every reply is a well-formed reply');
    assert.equal(report.fdGrowth, [], 'no fd left open');
    assert.equal(report.unhandled, []);
    assert.equal(report.serverErrors, []);
  });
}

test.run();
