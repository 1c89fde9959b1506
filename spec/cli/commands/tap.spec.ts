import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { captureWriter } from '../../../src/capture/index.js';
import { Command, HeaderFlags, Errno } from '../../../src/protocol/index.js';
import { traceOf } from '../../../src/wire/trace.js';
import { lines, root, run, serveSample, start, tempDir, type Served } from '../fixtures/cli.js';
import { firstValueFrom } from 'rxjs';
import { openDevice } from '../../../src/client/index.js';

const hasTshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;

const dir = tempDir();
let dma: Served;
const test = suite('tap and decode');

test.before(async () => {
  dma = await serveSample('dma-engine', dir.path);
});
test.after(async () => {
  await dma.stop();
  dir.remove();
});

const TIME = '\\d\\d:\\d\\d:\\d\\d\\.\\d{3}';

test('relays a client to the server, prints every message live, and its capture decodes to the same lines', async () => {
  const tapPath = join(dir.path, 'tap.sock');
  const pcap = join(dir.path, 'live.pcapng');
  const p = start(['tap', '--listen', tapPath, '--connect', dma.socketPath, '--pcap', pcap]);
  await p.line(/^# tap listening on /);
  const w = await run(['write', tapPath, 'bar0', '0x10', '04000000']);
  assert.is(w.code, 0, w.stderr);
  const r = await run(['read', tapPath, 'bar0', '0x10', '4']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /04 00 00 00/, 'the read came back through the tap');
  await p.line(/^# session 2 ended: the client closed the connection; the tap closed the server$/);
  p.child.kill('SIGTERM');
  const done = await p.done;
  assert.is(done.code, 0, done.stderr);
  const out = lines(done.stdout);
  assert.is(out[0], `# tap listening on ${tapPath}, relaying each client to ${dma.socketPath}`);
  const traced = out.filter((l) => !l.startsWith('#'));
  for (const line of traced) assert.match(line, new RegExp(`^${TIME} (->|<-) `), line);
  assert.ok(traced.some((l) => / VERSION .* fds=1 \| .* \| fds: socket$/.test(l)), 'the twin socket, described');
  assert.ok(traced.some((l) => /-> command .* REGION_WRITE .* \| region=0x0 offset=0x10 count=0x4 data=04000000$/.test(l)));
  assert.ok(traced.some((l) => /<- reply   .* REGION_READ .* \| region=0x0 offset=0x10 count=0x4 data=04000000$/.test(l)));
  const decoded = await run(['decode', pcap]);
  assert.is(decoded.code, 0, decoded.stderr);
  assert.equal(lines(decoded.stdout), traced, 'decode prints what the tap printed');
  const writes = await run(['decode', pcap, '--command', 'region_write']);
  assert.equal(lines(writes.stdout), traced.filter((l) => / REGION_WRITE /.test(l)));
  assert.is(lines(writes.stdout).length, 2, 'the write and its reply');
  const config = await run(['decode', pcap, '--region', 'config']);
  assert.ok(lines(config.stdout).length >= 2 && lines(config.stdout).every((l) => /(REGION_READ|DEVICE_GET_REGION_INFO) .*(region|index)=0x7/.test(l)), config.stdout);
  if (!hasTshark) return console.log('tshark is not installed: the live capture is not opened with the dissector');
  // The live capture, opened with the shipped dissector: every message, none malformed, replies matched.
  const ts = spawnSync('tshark', ['-2', '-Y', 'vfio_user', '-X', `lua_script:${join(root, 'dissector', 'vfio-user.lua')}`, '-r', pcap, '-T', 'fields', '-e', 'vfio_user.command', '-e', 'vfio_user.response_to', '-e', '_ws.expert.message', '-E', 'aggregator=;'], { encoding: 'utf8' });
  assert.is(ts.status, 0, ts.stderr);
  const rows = ts.stdout.trim().split('\n').map((l) => l.split('\t'));
  assert.is(rows.length, traced.length, 'one packet per message');
  // The only expert items are the packet comments naming fds: nothing malformed, no error reply.
  assert.ok(rows.every((r) => (r[2] ?? '').split(';').every((m) => m === '' || m.startsWith('fds='))), rows.map((r) => r[2]).join('\n'));
  assert.is(rows.filter((r) => r[1] !== '').length, traced.filter((l) => / reply /.test(l)).length, 'every reply matched to its request');
});

test('a signal ends the conversations still open, each with its line, then the tap (exit 0)', async () => {
  const tapPath = join(dir.path, 'stop.sock');
  const p = start(['tap', '--listen', tapPath, '--connect', dma.socketPath, '--quiet']);
  await p.line(/^# tap listening on /);
  const dev = await openDevice({ socketPath: tapPath });
  await p.line(/^# session 1: a client connected/);
  const closed = firstValueFrom(dev.rx.closed$).catch((err: unknown) => err);
  p.child.kill('SIGINT');
  const done = await p.done;
  assert.is(done.code, 0, done.stderr);
  assert.ok(lines(done.stdout).includes('# session 1 ended: the tap was stopped'), done.stdout);
  await closed;
  await dev.close().catch(() => undefined);
});

test('decode --errors shows error replies only, with the errno', async () => {
  const blocks: Buffer[] = [];
  const write = captureWriter((b) => blocks.push(b));
  const header = (id: number, flags: number, error = 0) => ({ id, command: Command.DEVICE_RESET, size: 16, flags, error });
  write(traceOf('out', header(7, 0), 0));
  write(traceOf('in', header(7, 1 | HeaderFlags.ERROR, Errno.EBUSY), 0));
  const file = join(dir.path, 'errors.pcapng');
  writeFileSync(file, Buffer.concat(blocks));
  const r = await run(['decode', file, '--errors']);
  assert.is(r.code, 0, r.stderr);
  const out = lines(r.stdout);
  assert.is(out.length, 1);
  assert.match(out[0]!, new RegExp(`^${TIME} <- reply   id=0x0007 DEVICE_RESET size=0x10 flags=0x21 errno=16$`));
});

test('decode refuses a file that is no capture, in one line', async () => {
  const file = join(dir.path, 'not.pcapng');
  writeFileSync(file, 'hello, world');
  const r = await run(['decode', file]);
  assert.is(r.code, 1);
  assert.is(r.stderr, `vfio-user: ${file}: not a pcapng file (no section header block at its start)\n`);
  const missing = await run(['decode', join(dir.path, 'nothing.pcapng')]);
  assert.match(missing.stderr, /^vfio-user: cannot read .*nothing\.pcapng: ENOENT\n$/);
});

test('tap says when the server cannot be reached, and a bad --command is a usage error', async () => {
  const tapPath = join(dir.path, 'tap2.sock');
  const p = start(['tap', '--listen', tapPath, '--connect', join(dir.path, 'nobody.sock')]);
  await p.line(/^# tap listening on /);
  const r = await run(['info', tapPath]);
  assert.is(r.code, 1);
  await p.line(/^# session 1 ended: cannot connect to the server at .*nobody\.sock: ENOENT; the tap closed the client$/);
  p.child.kill('SIGTERM');
  assert.is((await p.done).code, 0);
  const bad = await run(['tap', '--listen', tapPath, '--connect', dma.socketPath, '--command', 'FROB']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /^vfio-user: command "FROB" is none of VERSION, DMA_MAP/);
});

test.run();
