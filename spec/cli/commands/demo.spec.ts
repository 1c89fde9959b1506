import { existsSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { run, type Result } from '../fixtures/cli.js';

/** The socket the demo served on, from its `[server] listening on PATH (dma-engine)` line. */
const socketOf = (r: Result): string => {
  const m = /^\[server\] listening on (\S+) \(dma-engine\)$/m.exec(r.stdout);
  assert.ok(m, `a listening line in:\n${r.stdout}`);
  return m![1]!;
};

const assertStory = (r: Result) => {
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stderr, '');
  assert.match(r.stdout, /^\[client\] connected: vfio-user 0\.\d+, device flags 0x3 \(RESET PCI\)$/m);
  assert.match(r.stdout, /^\[client\] region bar0: size 0x1000, flags 0x3 \(READ WRITE\)$/m);
  assert.match(r.stdout, /^\[client\] config: Vendor 1af4 Device 10f0$/m);
  assert.match(r.stdout, /^\[client\] DMA copy started: 0x1000 bytes from iova 0x100000 to iova 0x108000$/m);
  assert.match(r.stdout, /^\[client\] interrupt: msix vector 0 arrived \(completion\)$/m);
  assert.match(r.stdout, /^\[client\] verified: the 0x1000 bytes at iova 0x108000 match the source$/m);
  assert.match(r.stdout, /^\[server\] client disconnected/m);
  assert.match(r.stdout, /^\[demo\] done: device closed, server stopped, socket removed$/m);
};

test('demo runs the whole story and exits 0, twice in a row, leaving no socket behind', async () => {
  const first = await run(['demo']);
  assertStory(first);
  assert.match(first.stdout, /mapped for DMA with its memfd/);
  assert.not.ok(existsSync(socketOf(first)), 'the first socket is gone');
  const second = await run(['demo']);
  assertStory(second);
  assert.not.ok(existsSync(socketOf(second)), 'the second socket is gone');
});

test('demo --message-dma maps memory without fds: the device copies with DMA_READ/DMA_WRITE', async () => {
  const r = await run(['demo', '--message-dma']);
  assertStory(r);
  assert.match(r.stdout, /mapped for DMA without fds: the device reaches it with DMA_READ\/DMA_WRITE messages/);
  assert.match(r.stdout, /^\[client\] the device sent [1-9]\d* DMA request message\(s\) to do it$/m);
});

test('demo --trace prints every message, decoded, from VERSION to the last', async () => {
  const r = await run(['demo', '--trace', '--message-dma']);
  assertStory(r);
  const traced = r.stdout.split('\n').filter((l) => /^\d\d:\d\d:\d\d\.\d{3} (->|<-) /.test(l));
  assert.match(traced[0]!, /-> command id=0x0000 VERSION size=0x[0-9a-f]+ flags=0x0 \| version=0\.\d+ json=/);
  assert.ok(traced.some((l) => /-> command id=0x[0-9a-f]+ DMA_MAP .* \| flags=0x3 offset=0x0 address=0x100000 size=0x10000$/.test(l)), 'the DMA map');
  assert.ok(traced.some((l) => /<- command id=0x[0-9a-f]+ DMA_READ .* \| address=0x100000 count=0x1000$/.test(l)), 'the device reading the source');
  assert.ok(traced.some((l) => /<- command id=0x[0-9a-f]+ DMA_WRITE .* \| address=0x108000 count=0x1000 data=/.test(l)), 'the device writing the copy');
  assert.ok(traced.some((l) => /-> command .* REGION_WRITE .* \| region=0x0 offset=0x14 count=0x4 data=01000000$/.test(l)), 'the doorbell');
});

test.run();
