import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { native } from '../../../src/native/index.js';
import { lines, run, serveSample, start, tempDir } from '../fixtures/cli.js';

const dir = tempDir();
const test = suite('serve');
test.after(() => dir.remove());

test('prints one line when listening; SIGTERM ends it with exit 0 and the socket file removed', async () => {
  const served = await serveSample('gpio', dir.path);
  assert.is(served.process.stdout(), `listening on ${served.socketPath} (gpio)\n`);
  assert.ok(existsSync(served.socketPath));
  const r = await served.stop();
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stderr, '');
  assert.not.ok(existsSync(served.socketPath), 'socket file removed');
});

test('SIGINT ends it cleanly too', async () => {
  const served = await serveSample('ram', dir.path);
  served.process.child.kill('SIGINT');
  const r = await served.process.done;
  assert.is(r.code, 0, r.stderr);
  assert.not.ok(existsSync(served.socketPath));
});

test('--verbose prints a line per connection and disconnection; the next client is accepted after one leaves', async () => {
  const served = await serveSample('dma-engine', dir.path, ['--verbose']);
  for (let i = 0; i < 2; i++) {
    const r = await run(['info', served.socketPath]);
    assert.is(r.code, 0, r.stderr);
  }
  const out = lines((await served.stop()).stdout);
  assert.is(out[0], `listening on ${served.socketPath} (dma-engine)`);
  assert.match(out[1]!, /^client connected \(twin socket yes, client max_msg_fds 16\)$/);
  assert.match(out[2]!, /^client disconnected: /);
  assert.match(out[3]!, /^client connected /);
  assert.match(out[4]!, /^client disconnected: /);
  assert.match(out[5]!, /^stopping on SIGTERM$/);
});

test('--trace prints every message with each client, decoded, from VERSION to the last reply', async () => {
  const served = await serveSample('ram', dir.path, ['--trace']);
  const r = await run(['read', served.socketPath, 'bar2', '0', '4']);
  assert.is(r.code, 0, r.stderr);
  const out = lines((await served.stop()).stdout);
  assert.match(out[1]!, /<- command id=0x0000 VERSION size=0x[0-9a-f]+ flags=0x0 \| version=0\.2 json=/);
  assert.match(out[2]!, /-> reply   id=0x0000 VERSION .* fds=1 \| version=0\.2 json=.*"twin_socket".* \| fds: socket$/);
  const read = out.findIndex((l) => l.includes('<- command') && l.includes('REGION_READ') && l.includes('region=0x2 offset=0x0 count=0x4'));
  assert.ok(read > 2, 'the read arrives after the handshake');
  assert.match(out[read + 1]!, /-> reply   id=0x[0-9a-f]{4} REGION_READ .*\| region=0x2 offset=0x0 count=0x4 data=214d4152$/);
});

test('a second client is refused at once while one is served: one line saying the device is in use', async () => {
  const served = await serveSample('gpio', dir.path);
  const first = start(['monitor', served.socketPath]);
  await first.line(/^# monitoring /);
  const second = await run(['info', served.socketPath]);
  assert.is(second.code, 1);
  assert.match(second.stderr, /^vfio-user: .*the device is in use by another client \(EBUSY\)\n$/);
  first.child.kill('SIGTERM');
  assert.is((await first.done).code, 0);
  const third = await run(['info', served.socketPath]);
  assert.is(third.code, 0, third.stderr);
  await served.stop();
});

test('--queue: a second client waits and is served once the first has left', async () => {
  const served = await serveSample('gpio', dir.path, ['--verbose', '--queue']);
  const first = start(['monitor', served.socketPath]);
  await first.line(/^# monitoring /);
  const second = start(['monitor', served.socketPath, '--timeout', '0']);
  // The second client has connected and asked for VERSION; the server is still busy with the first.
  await second.line(/-> command id=0x0000 VERSION /);
  first.child.kill('SIGTERM');
  assert.is((await first.done).code, 0);
  await second.line(/^# monitoring /);
  second.child.kill('SIGTERM');
  assert.is((await second.done).code, 0);
  const events = lines((await served.stop()).stdout).filter((l) => /^client (connected|disconnected)/.test(l));
  assert.equal(events.map((l) => /^client (\w+)/.exec(l)![1]), ['connected', 'disconnected', 'connected', 'disconnected']);
});

test('--fd serves on an inherited listening socket', async () => {
  const path = join(dir.path, 'inherited.sock');
  const listener = native.listen(path, 0o600);
  const served = start(['serve', 'gpio', '--fd', '3'], { stdio: ['ignore', 'pipe', 'pipe', listener.fd] });
  listener.close();
  await served.line(/^listening on the given fd \(gpio\)$/);
  const info = await run(['info', path]);
  assert.is(info.code, 0, info.stderr);
  assert.match(info.stdout, /Vendor 494f Device 0dc8/);
  served.child.kill('SIGTERM');
  assert.is((await served.done).code, 0);
});

test('--socket-path with --fd is a usage error', async () => {
  const r = await run(['serve', 'gpio', '--socket-path', join(dir.path, 'x.sock'), '--fd', '3']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /^vfio-user: option '--socket-path <path>' cannot be used with option '--fd <n>'/);
  assert.is(r.stdout, '');
});

test('neither --socket-path nor --fd is a usage error', async () => {
  const r = await run(['serve', 'gpio']);
  assert.is(r.code, 2);
  assert.is(r.stderr, 'vfio-user: serve needs --socket-path PATH or --fd N\n');
});

test('an unknown device that is no file either is a usage error naming the samples', async () => {
  const r = await run(['serve', 'toaster', '--socket-path', join(dir.path, 't.sock')]);
  assert.is(r.code, 2);
  assert.is(r.stderr, "vfio-user: serve: 'toaster' is neither a sample device (gpio, dma-engine, ram, nvme) nor a file\n");
});

test('serves the device a module exports (default export: a function returning a PciDevice)', async () => {
  const module = join(dir.path, 'my-device.mjs');
  const server = join(process.cwd(), 'dist', 'index.js');
  writeFileSync(module, `import { server } from ${JSON.stringify(server)};
export default () => server.pciDevice({ name: 'my-device', ids: { vendorId: 0x1234, deviceId: 0x5678, classCode: 0xff0000 }, bars: { 0: server.memoryBar(16, { read: (o, n) => Buffer.alloc(n, 0x42) }) } });
`);
  const socketPath = join(dir.path, 'm.sock');
  const served = start(['serve', module, '--socket-path', socketPath]);
  try {
    await served.line(/^listening on .* \(my-device\)$/);
    const r = await run(['read', socketPath, 'bar0', '0', '2']);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /42 42/);
  } finally {
    served.child.kill('SIGTERM');
  }
  assert.is((await served.done).code, 0);
});

test('--vendor-id and --device-id give a sample ids of your own; a module refuses them', async () => {
  const socketPath = join(dir.path, 'ids.sock');
  const served = start(['serve', 'dma-engine', '--socket-path', socketPath, '--vendor-id', '0x1234', '--device-id', '0xabcd']);
  try {
    await served.line(/^listening on /);
    const r = await run(['info', socketPath, '--json']);
    const doc = JSON.parse(r.stdout) as { config: { vendorId: number; deviceId: number } };
    assert.equal([doc.config.vendorId, doc.config.deviceId], [0x1234, 0xabcd]);
  } finally {
    served.child.kill('SIGTERM');
  }
  await served.done;
  const bad = await run(['serve', 'ram', '--socket-path', join(dir.path, 'b.sock'), '--vendor-id', '0x10000']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /not a 16-bit id/);
  const module = join(dir.path, 'nothing.mjs');
  writeFileSync(module, 'export const x = 1;\n');
  const mod = await run(['serve', module, '--socket-path', join(dir.path, 'c.sock'), '--device-id', '1']);
  assert.is(mod.code, 2);
  assert.match(mod.stderr, /are for the sample devices/);
});

test('serve nvme --backing --size: a namespace in a file (created, sized); the storage flags are for nvme alone and checked', async () => {
  const disk = join(dir.path, 'disk.img');
  const served = await serveSample('nvme', dir.path, ['--backing', disk, '--size', '2M', '--block-size', '4096']);
  try {
    const r = await run(['info', served.socketPath, '--json']);
    const doc = JSON.parse(r.stdout) as { config: { vendorId: number; deviceId: number; classCode: number } };
    assert.equal([doc.config.vendorId, doc.config.deviceId, doc.config.classCode], [0x1af4, 0x10f2, 0x010802]);
    assert.is(statSync(disk).size, 2 << 20, 'the file is created at the size asked for');
  } finally {
    await served.stop();
  }
  const wrongDevice = await run(['serve', 'gpio', '--socket-path', join(dir.path, 'g.sock'), '--size', '1M']);
  assert.is(wrongDevice.code, 2);
  assert.match(wrongDevice.stderr, /are for the nvme sample/);
  const badSize = await run(['serve', 'nvme', '--socket-path', join(dir.path, 'n.sock'), '--size', 'lots']);
  assert.is(badSize.code, 2);
  assert.match(badSize.stderr, /is not a size/);
  const odd = await run(['serve', 'nvme', '--socket-path', join(dir.path, 'n.sock'), '--size', '1000']);
  assert.is(odd.code, 1);
  assert.match(odd.stderr, /serve nvme: namespace size 1000: a positive multiple of 512/);
  const missing = await run(['serve', 'nvme', '--socket-path', join(dir.path, 'n.sock'), '--backing', join(dir.path, 'no', 'disk.img')]);
  assert.is(missing.code, 1);
  assert.match(missing.stderr, /serve nvme: ENOENT/);
});

test('a module that exports no device says what to export', async () => {
  const module = join(dir.path, 'nothing.mjs');
  writeFileSync(module, 'export const x = 1;\n');
  const r = await run(['serve', module, '--socket-path', join(dir.path, 'n.sock')]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /exports no device: export default \(or device\) a PciDevice/);
});

test('a path another server answers on is refused, and that server keeps running', async () => {
  const served = await serveSample('gpio', dir.path);
  const r = await run(['serve', 'ram', '--socket-path', served.socketPath]);
  assert.is(r.code, 1);
  assert.is(r.stderr, `vfio-user: ${served.socketPath}: another server is answering on it\n`);
  assert.is(r.stdout, '', 'no listening line');
  assert.is((await run(['info', served.socketPath])).code, 0);
  await served.stop();
});

test('a path in a missing directory names the path and ENOENT, without a listening line', async () => {
  const path = join(dir.path, 'missing', 'x.sock');
  const r = await run(['serve', 'gpio', '--socket-path', path]);
  assert.is(r.code, 1);
  assert.is(r.stderr, `vfio-user: cannot listen on ${path}: no such file or directory (ENOENT)\n`);
  assert.is(r.stdout, '');
});

test('an --fd that is not a socket, or not open', async () => {
  const notSocket = await run(['serve', 'gpio', '--fd', '0']);
  assert.is(notSocket.code, 1);
  assert.is(notSocket.stderr, 'vfio-user: fd 0 is not a socket\n');
  const closed = await run(['serve', 'gpio', '--fd', '57']);
  assert.is(closed.code, 1);
  assert.is(closed.stderr, 'vfio-user: fd 57 is not an open file descriptor\n');
});

test.run();
