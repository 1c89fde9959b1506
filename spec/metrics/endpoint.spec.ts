// The metrics endpoint after a scripted run against a served device, through a tap: the counts
// it answers in the Prometheus text format are the ones the client's own trace shows.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Subject, filter, firstValueFrom, type Subscription } from 'rxjs';
import { guestMemory, openDevice, type Device } from '../../src/client/index.js';
import { metricUpdates, metricsEndpoint$, prometheusMetrics, type MonitorEvent } from '../../src/metrics/index.js';
import { DmaReg, dmaEngineDevice } from '../../src/samples/index.js';
import type { TraceEvent } from '../../src/wire/trace.js';
import { tapped, until } from '../tap/fixtures.js';

const test = suite('metrics endpoint');

const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};

/** The value of one sample of a Prometheus text exposition, or undefined. */
const sample = (text: string, name: string, labels: Record<string, string>): number | undefined => {
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...m[2]!.matchAll(/([a-z_]+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
};

const RAM = 0x100000;

/** A DMA copy of `length` bytes through the mapping, with its MSI-X interrupt on vector 1. */
const scriptedRun = async (dev: Device, length: number) => {
  await dev.enableInterrupts('msix');
  const irqs = dev.interrupts();
  const cap = dev.config.capabilities.find((c) => c.kind === 'msix')!;
  await dev.region(7).write(cap.offset + 2, Buffer.from([0x00, 0x80]));
  const bar = dev.region(0);
  for (const [reg, v] of [[DmaReg.SRC_LO, RAM], [DmaReg.SRC_HI, 0], [DmaReg.DST_LO, RAM + 0x8000], [DmaReg.DST_HI, 0], [DmaReg.LEN, length], [DmaReg.VECTOR, 1]] as const) {
    await bar.write(reg, u32(v)); // posted
  }
  await bar.write(DmaReg.DOORBELL, u32(1), { posted: false });
  await irqs.next();
};

test('answers in the Prometheus text format with the counts of a scripted run, on the server and on a tap', async () => {
  const serverEvents = new Subject<MonitorEvent>();
  const server = prometheusMetrics({ role: 'serve' });
  const tapMetrics = prometheusMetrics({ role: 'tap' });
  const t = await tapped(dmaEngineDevice(), {}, { onTrace: (e) => serverEvents.next(e), onActivity: (a) => serverEvents.next(a) });
  const subs: Subscription[] = [
    serverEvents.pipe(metricUpdates({ side: 'server' })).subscribe(server.record),
    t.messages$.pipe(metricUpdates({ side: 'client' })).subscribe(tapMetrics.record),
  ];
  try {
    const endpoint = metricsEndpoint$(server.registry, { host: '127.0.0.1', port: 0 });
    const listening = new Subject<string>();
    subs.push(endpoint.subscribe((l) => listening.next(l.url)));
    const url = await firstValueFrom(listening);
    const client: TraceEvent[] = [];
    const memory = guestMemory();
    memory.add({ iova: RAM, size: 0x10000 });
    const dev = await openDevice({ socketPath: t.tapPath, memory, dmaMode: 'fd', onTrace: (e) => client.push(e) });
    await scriptedRun(dev, 0x3000);
    const busy = await openDevice({ socketPath: t.tapPath }).catch((err: unknown) => err);
    assert.match(String(busy), /in use by another client/);
    await until(() => t.tapEvents.filter((e) => e.kind === 'closed').length === 1, 'the refused client to go');

    const res = await fetch(url);
    assert.is(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const count = (command: string, type: string) => client.filter((e) => e.commandName === command && e.type === type).length;
    for (const command of ['VERSION', 'DEVICE_GET_REGION_INFO', 'DMA_MAP', 'DEVICE_SET_IRQS', 'REGION_WRITE', 'REGION_READ']) {
      const expected = count(command, 'command') + (command === 'VERSION' ? 1 : 0); // and the refused client's
      assert.is(sample(text, 'vfio_user_messages_total', { command, type: 'command', flow: 'client_to_server', role: 'serve' }), expected, command);
    }
    assert.is(sample(text, 'vfio_user_errors_total', { command: 'VERSION', errno: 'EBUSY' }), 1);
    assert.is(sample(text, 'vfio_user_posted_writes_total', {}), client.filter((e) => e.noReply).length);
    assert.ok(client.filter((e) => e.noReply).length >= 6, 'the register writes were posted');
    assert.is(sample(text, 'vfio_user_dma_bytes_total', { path: 'mapping', direction: 'read' }), 0x3000);
    assert.is(sample(text, 'vfio_user_dma_bytes_total', { path: 'mapping', direction: 'write' }), 0x3000);
    assert.is(sample(text, 'vfio_user_interrupts_total', { type: 'msix', vector: '1' }), 1);
    assert.is(sample(text, 'vfio_user_dma_maps', {}), client.filter((e) => e.commandName === 'DMA_MAP' && e.type === 'command').length);
    const answered = client.filter((e) => e.commandName === 'REGION_READ' && e.type === 'command').length;
    assert.is(sample(text, 'vfio_user_request_duration_seconds_count', { command: 'REGION_READ' }), answered);
    assert.is(sample(text, 'vfio_user_request_duration_seconds_bucket', { command: 'REGION_READ', le: '+Inf' }), answered);

    // The tap, seeing the same traffic from between the two, counts the same messages.
    const tapText = await tapMetrics.registry.metrics();
    for (const command of ['DEVICE_GET_REGION_INFO', 'REGION_WRITE', 'REGION_READ']) {
      assert.is(sample(tapText, 'vfio_user_messages_total', { command, type: 'command', flow: 'client_to_server' }), count(command, 'command'), `tap: ${command}`);
    }
    assert.is(sample(tapText, 'vfio_user_errors_total', { command: 'VERSION', errno: 'EBUSY' }), 1);
    const missing = await fetch(url.replace('/metrics', '/nothing'));
    assert.is(missing.status, 404);
    await dev.close();
  } finally {
    subs.forEach((s) => s.unsubscribe());
    t.close();
  }
});

test('a port in use is an error on the stream', async () => {
  const registry = prometheusMetrics().registry;
  const first = new Subject<number>();
  const sub = metricsEndpoint$(registry, { host: '127.0.0.1', port: 0 }).subscribe((l) => first.next(l.port));
  try {
    const port = await firstValueFrom(first);
    const err = await firstValueFrom(metricsEndpoint$(registry, { host: '127.0.0.1', port }).pipe(filter(() => false))).catch((e: unknown) => e);
    assert.is((err as NodeJS.ErrnoException).code, 'EADDRINUSE');
  } finally {
    sub.unsubscribe();
  }
});

test.run();
