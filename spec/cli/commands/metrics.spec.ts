import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { run, serveSample, start, tempDir } from '../fixtures/cli.js';

const dir = tempDir();
const test = suite('serve --metrics and tap --metrics');
test.after(() => dir.remove());

const scrape = async (url: string): Promise<string> => {
  const res = await fetch(url);
  assert.is(res.status, 200);
  return res.text();
};

test('serve and a tap in front of it both count what a client did', async () => {
  const served = await serveSample('gpio', dir.path, ['--metrics', '127.0.0.1:0']);
  const tapPath = join(dir.path, 'tap.sock');
  const tap = start(['tap', '--listen', tapPath, '--connect', served.socketPath, '--metrics', ':0', '--quiet']);
  try {
    const serveUrl = (await served.process.line(/^metrics at http:\/\/127\.0\.0\.1:\d+\/metrics$/)).replace('metrics at ', '');
    const tapUrl = (await tap.line(/^# metrics at /)).replace('# metrics at ', '');
    const w = await run(['write', tapPath, 'bar2', '0x0', '01']);
    assert.is(w.code, 0, w.stderr);
    await tap.line(/^# session 1 ended: /);
    const fromServer = await scrape(serveUrl);
    const fromTap = await scrape(tapUrl);
    const line = (role: string) => `vfio_user_messages_total{command="REGION_WRITE",type="command",flow="client_to_server",role="${role}"} 1`;
    assert.ok(fromServer.includes(line('serve')), fromServer);
    assert.ok(fromTap.includes(line('tap')), fromTap);
    assert.match(fromServer, /^# TYPE vfio_user_request_duration_seconds histogram$/m);
    assert.match(fromServer, /^vfio_user_dma_maps\{role="serve"\} 0$/m);
  } finally {
    tap.child.kill('SIGTERM');
    await tap.done;
    await served.stop();
  }
});

test('a bad --metrics address is a usage error', async () => {
  const r = await run(['serve', 'gpio', '--socket-path', join(dir.path, 'x.sock'), '--metrics', 'nowhere']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /^vfio-user: --metrics "nowhere" is not HOST:PORT/);
});

test.run();
