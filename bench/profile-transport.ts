/**
 * Profiles the transport benchmark's frame-layer variant on both sides and prints where the time
 * goes. Not part of `npm run bench`: run `npx tsx bench/profile-transport.ts [--roundtrips=N]
 * [--interval=us] [--initiator=frame|bare] [--peer=echo-endpoint|echo-channel]` (and the same
 * --pin/--cpu options as the benchmark; --pin=cross keeps one side's time out of the other's
 * profile, which samples wall time: a process preempted inside sendmsg on a shared core is
 * charged for the peer's work).
 * The raw profiles are kept in bench/results/ (open them in Chrome DevTools).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs } from './lib/args.js';
import { environment, environmentLine } from './lib/env.js';
import { profileTables } from './lib/profile-tables.js';
import { startProfiler, type CpuProfile } from './lib/profiler.js';
import { RESULTS_DIR } from './lib/results.js';
import { bareDriver, frameDriver } from './transport/loops.js';
import { spawnPeer, type PeerKind } from './transport/peer.js';
import { place } from './transport/placement.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const { options } = benchArgs();
const roundtrips = Number(options.get('roundtrips') ?? 50_000);
const interval = Number(options.get('interval') ?? 100);
const warmup = 3_000;
const peerKind = (options.get('peer') ?? 'echo-endpoint') as PeerKind;
const initiator = options.get('initiator') === 'bare' ? 'bare' : 'frame';

const main = async () => {
  console.log(environmentLine(environment()));
  mkdirSync(RESULTS_DIR, { recursive: true });
  const peerFile = join(RESULTS_DIR, `transport-${peerKind}.cpuprofile`);
  const ownFile = join(RESULTS_DIR, `transport-${initiator}-initiator.cpuprofile`);
  const placed = place(options);
  try {
    process.env['BENCH_PEER_PROFILE'] = peerFile;
    process.env['BENCH_PROFILE_INTERVAL_US'] = String(interval);
    const peer = spawnPeer(peerKind, {
      warmup,
      ...(peerKind === 'echo-channel' && initiator === 'frame' ? { mode: 'reply' } : {}),
      ...(placed.placement.peerPrefix ? { prefix: placed.placement.peerPrefix } : {}),
    });
    peer.report.catch(() => undefined);
    const driver = (initiator === 'bare' ? bareDriver : frameDriver)(peer.channel);
    await driver.batch(warmup);
    const profiler = await startProfiler(interval);
    const measured = await driver.batch(roundtrips);
    const own = await profiler.stop();
    driver.close();
    await peer.report;
    writeFileSync(ownFile, JSON.stringify(own));
    const sorted = Float64Array.from(measured.rtt).sort();
    console.log(`\n${placed.description}; ${roundtrips} round trips profiled every ${interval} us; ` +
      `median RTT under the profiler ${sorted[sorted.length >> 1]!.toFixed(1)} us\n`);
    const what = initiator === 'bare' ? 'bare channel' : 'frame layer + correlation, awaited requests';
    console.log(profileTables(`initiator (${what})`, own, roundtrips, 'round trip', ROOT));
    const theirs = JSON.parse(readFileSync(peerFile, 'utf8')) as CpuProfile;
    console.log(`\n${profileTables(`echoing peer (${peerKind})`, theirs, roundtrips, 'round trip', ROOT)}`);
    console.log(
      '\n(native) is the addon (sendmsg/recvmsg and the kernel work behind them: V8 labels every N-API ' +
        'function of a module with one name); (program) is native code outside JS (libuv, the N-API call path).',
    );
    console.log(`\nprofiles: ${ownFile}, ${peerFile}`);
  } finally {
    placed.restore();
  }
};

await main();
