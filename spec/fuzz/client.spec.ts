// Bounded fuzzing of the client against hostile scripted servers (see client-fuzz.ts).
// `npm run fuzz` runs longer; FUZZ_SEED replays a seed here.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fuzzClient } from './client-fuzz.js';

const seed = Number(process.env['FUZZ_SEED'] ?? 20261206);
const CASES = 800;

test(`${CASES} hostile servers (seed ${seed}): every failure typed, no hang, fd growth or unhandled error`, async () => {
  const report = await fuzzClient(CASES, seed);
  assert.equal(report.fdGrowth, [], 'no fd left open');
  assert.equal(report.unhandled, []);
});

test.run();
