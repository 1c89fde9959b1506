import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { lines, run, serveSample, start, tempDir, type Served } from '../fixtures/cli.js';

const dir = tempDir();
let dma: Served;
let gpio: Served;
const test = suite('monitor');

test.before(async () => {
  dma = await serveSample('dma-engine', dir.path);
  gpio = await serveSample('gpio', dir.path);
});
test.after(async () => {
  await Promise.all([dma.stop(), gpio.stop()]);
  dir.remove();
});

const TIME = '\\d\\d:\\d\\d:\\d\\d\\.\\d{3}';

test('prints each message and the interrupt the device raises, then stops after --count', async () => {
  // Ringing the doorbell makes the engine finish a (zero-length) copy and raise its interrupt;
  // without MSI-X enabled in config space, that is INTx.
  const r = await run(['monitor', dma.socketPath, '--write', 'bar0:0x14:01000000', '--count', '1']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stderr, '');
  const out = lines(r.stdout);
  for (const line of out) assert.match(line, new RegExp(`^(${TIME} (->|<-|!!) |# )`), line);
  assert.match(out[0]!, new RegExp(`^${TIME} -> command id=0x0000 VERSION size=0x[0-9a-f]+ flags=0x0 \\| version=0\\.\\d+ json=`));
  assert.ok(out.some((l) => /<- reply   id=0x[0-9a-f]{4} DEVICE_GET_INFO .* \| flags=0x3 num_regions=0x9 num_irqs=0x5$/.test(l)), 'GET_INFO decoded');
  assert.ok(out.some((l) => /-> command id=0x[0-9a-f]{4} DEVICE_SET_IRQS .* fds=1 \| flags=0x24 index=0x0 start=0x0 count=0x1 \| fds: eventfd$/.test(l)), 'INTx eventfd given, described');
  const monitoring = out.findIndex((l) => l.startsWith('# monitoring'));
  assert.is(out[monitoring], `# monitoring ${dma.socketPath}: vendor 0x1af4 device 0x10f0, interrupts enabled: intx(1) msix(2) err(1) req(1)`);
  const doorbell = out.findIndex((l) => /-> command .* REGION_WRITE .* \| region=0x0 offset=0x14 count=0x4 data=01000000$/.test(l));
  const irq = out.findIndex((l) => new RegExp(`^${TIME} !! interrupt intx vector=0x0 count=0x1$`).test(l));
  assert.ok(monitoring < doorbell && doorbell < irq, 'enabled, then the write, then the interrupt');
  assert.match(out[out.length - 1]!, /^# stopped \(1 interrupt\(s\) seen\): 1 interrupt\(s\), \d+ message\(s\)$/);
});

test('--duration stops it; with no interrupt it says so', async () => {
  const r = await run(['monitor', gpio.socketPath, '--duration', '200']);
  assert.is(r.code, 0, r.stderr);
  const out = lines(r.stdout);
  assert.ok(out.includes(`# monitoring ${gpio.socketPath}: vendor 0x494f device 0xdc8, interrupts enabled: intx(1) err(1) req(1)`), r.stdout);
  assert.match(out[out.length - 1]!, /^# stopped \(200 ms elapsed\): 0 interrupt\(s\), \d+ message\(s\)$/);
});

test('SIGTERM stops it cleanly, interrupts disabled on the way out', async () => {
  const p = start(['monitor', gpio.socketPath]);
  await p.line(/^# monitoring /);
  p.child.kill('SIGTERM');
  const r = await p.done;
  assert.is(r.code, 0, r.stderr);
  const out = lines(r.stdout);
  const afterStop = out.slice(out.findIndex((l) => l.startsWith('# monitoring')));
  assert.ok(afterStop.some((l) => /-> command .* DEVICE_SET_IRQS .* \| flags=0x21 index=0x0 start=0x0 count=0x0$/.test(l)), 'INTx disabled at close');
  assert.match(out[out.length - 1]!, /^# stopped \(SIGTERM\): 0 interrupt\(s\)/);
});

test('the server going away ends it with a one-line error', async () => {
  const own = await serveSample('ram', dir.path);
  const p = start(['monitor', own.socketPath]);
  await p.line(/^# monitoring .*interrupts enabled: err\(1\) req\(1\)$/);
  await own.stop();
  const r = await p.done;
  assert.is(r.code, 1);
  assert.match(r.stderr, /^vfio-user: the connection ended: .+\n$/);
});

test('a --write to a region the device does not have fails after opening, and closes', async () => {
  const r = await run(['monitor', dma.socketPath, '--write', 'bar3:0:00']);
  assert.is(r.code, 1);
  assert.is(r.stderr, 'vfio-user: region bar3 does not exist on this device (size 0)\n');
});

test('usage errors: --count 0, a malformed --write', async () => {
  const zero = await run(['monitor', dma.socketPath, '--count', '0']);
  assert.is(zero.code, 2);
  assert.is(zero.stderr, 'vfio-user: count must be above 0\n');
  const bad = await run(['monitor', dma.socketPath, '--write', 'bar0:0x14']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /^vfio-user: write "bar0:0x14" is not REGION:OFFSET:HEXBYTES/);
});

test.run();
