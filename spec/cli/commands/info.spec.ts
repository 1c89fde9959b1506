import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { lines, run, serveSample, tempDir, type Served } from '../fixtures/cli.js';

const dir = tempDir();
const served: Record<string, Served> = {};
const test = suite('info');

test.before(async () => {
  for (const device of ['gpio', 'dma-engine', 'ram']) served[device] = await serveSample(device, dir.path);
});
test.after(async () => {
  await Promise.all(Object.values(served).map((s) => s.stop()));
  dir.remove();
});

const info = async (device: string, ...flags: string[]) => {
  const r = await run(['info', served[device]!.socketPath, ...flags]);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stderr, '');
  return r.stdout;
};

test('shows the device, its regions, IRQs and decoded config space (dma-engine)', async () => {
  const out = await info('dma-engine');
  assert.match(out, new RegExp(`^Device ${served['dma-engine']!.socketPath}: vfio-user 0\\.\\d+, flags 0x3 \\(RESET PCI\\)$`, 'm'));
  // Our server leaves out a limit equal to the default when the reply must fit in the request.
  assert.match(out, /^Server limits: max_msg_fds 16, max_data_xfer_size 0x100000 \(default\), .* twin_socket yes/m);
  assert.match(out, /^Regions \(9\):$/m);
  assert.match(out, /^ +0 bar0 +size 0x1000 +flags 0x3 \(READ WRITE\) +fd no$/m);
  assert.match(out, /^ +4 bar4 +size 0x2000 /m);
  assert.match(out, /^ +7 config +size 0x1000 /m);
  assert.match(out, /^ +empty: bar1 bar2 bar3 bar5 rom vga$/m);
  assert.match(out, /^ +0 intx +count 1 +flags 0x3 \(EVENTFD MASKABLE\)$/m);
  assert.match(out, /^ +2 msix +count 2 +flags 0x3 /m);
  assert.match(out, /^ +Vendor 1af4 Device 10f0$/m);
  assert.match(out, /^ +Region 0: Memory at <unassigned> \(32-bit, non-prefetchable\) \[size=4K\]$/m);
  assert.match(out, /^ +Capabilities: \[[0-9a-f]+\] MSI-X: Enable- Count=2 Masked-$/m);
  assert.match(out, /^ +Capabilities: \[[0-9a-f]+\] Power Management version 3$/m);
});

test('the gpio card shows its ids and its I/O BAR', async () => {
  const out = await info('gpio');
  assert.match(out, /^ +Vendor 494f Device 0dc8$/m);
  assert.match(out, /^ +2 bar2 +size 0x100 +flags 0x3 \(READ WRITE\) +fd no$/m);
  assert.match(out, /^ +Region 2: I\/O ports at <unassigned> \[size=256\]$/m);
  assert.match(out, /^ +Interrupt: pin A/m);
});

test('the RAM card shows its sparse mmap area, mapped with the fd that came', async () => {
  const out = await info('ram');
  assert.match(out, /^ +2 bar2 +size 0x10000 +flags 0xf \(READ WRITE MMAP CAPS\) +fd yes$/m);
  assert.match(out, /^ +sparse mmap area 0x1000\+0xf000 \(mapped\)$/m);
  assert.match(out, /^ +Region 2: Memory at <unassigned> \(64-bit, prefetchable\) \[size=64K\]$/m);
});

/** The parts of `info --json` the test reads. */
interface InfoDoc {
  readonly socket: string;
  readonly device: unknown;
  readonly regions: readonly { name: string; size: number; flagNames: string[]; fd: string; sparse: unknown; mapped: unknown }[];
  readonly irqs: readonly unknown[];
  readonly config: { vendorId: number; deviceId: number };
  readonly configBytes: string;
}

test('--json gives the same facts as one JSON document', async () => {
  const doc = JSON.parse(await info('ram', '--json')) as InfoDoc;
  assert.is(doc.socket, served['ram']!.socketPath);
  assert.equal(doc.device, { flags: 3, flagNames: ['RESET', 'PCI'], num_regions: 9, num_irqs: 5 });
  const bar2 = doc.regions[2]!;
  assert.equal([bar2.name, bar2.size, bar2.flagNames, bar2.fd], ['bar2', 0x10000, ['READ', 'WRITE', 'MMAP', 'CAPS'], 'yes']);
  assert.equal(bar2.sparse, [{ offset: 0x1000, size: 0xf000 }]);
  assert.equal(bar2.mapped, [{ offset: 0x1000, size: 0xf000, writable: true }]);
  assert.equal([doc.config.vendorId, doc.config.deviceId], [0x1af4, 0x10f1]);
  assert.is(doc.irqs.length, 5);
  assert.is(doc.configBytes.slice(0, 8), 'f41af110');
});

test('--config-hex prints config space in the form lspci -F reads', async () => {
  const out = lines(await info('dma-engine', '--config-hex'));
  assert.is(out[0], '00:00.0 Generic system peripheral: Device 1af4:10f0');
  const rows = out.slice(1);
  assert.is(rows.length, 4096 / 16);
  for (const row of rows) assert.match(row, /^[0-9a-f]{3}: ([0-9a-f]{2} ){15}[0-9a-f]{2}$/);
  const bytes = Buffer.from(rows.map((r) => r.slice(5).replace(/ /g, '')).join(''), 'hex');
  assert.equal([bytes.readUInt16LE(0), bytes.readUInt16LE(2)], [0x1af4, 0x10f0]);
});

test('a 256-byte config space gets two-digit offsets (the gpio card)', async () => {
  const out = lines(await info('gpio', '--config-hex'));
  assert.is(out.length, 1 + 16);
  assert.match(out[1]!, /^00: 4f 49 c8 0d /);
  assert.match(out[16]!, /^f0: /);
});

test.run();
