import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { from, lastValueFrom, toArray } from 'rxjs';
import { metricUpdates, metricsSnapshots, type MonitorEvent } from '../../src/metrics/index.js';
import * as p from '../../src/protocol/index.js';
import { traceOf, type TraceEvent } from '../../src/wire/trace.js';

const test = suite('metric updates and snapshots');

let clock = 1000;
const msg = (direction: 'in' | 'out', id: number, command: number, flags: number, payload?: Buffer, error = 0): TraceEvent => ({
  ...traceOf(direction, { id, command, size: 16 + (payload?.length ?? 0), flags, error }, 0, payload),
  timestamp: (clock += 2),
});
const C = p.Command;

// A client's view: `out` goes to the server.
const script: MonitorEvent[] = [
  msg('out', 1, C.DMA_MAP, 0, p.encodeDmaMapRequest({ flags: 3, offset: 0, address: 0, size: 0x1000 })),
  msg('in', 1, C.DMA_MAP, 1),
  msg('out', 2, C.DMA_MAP, 0, p.encodeDmaMapRequest({ flags: 3, offset: 0, address: 0x1000, size: 0x1000 })),
  msg('in', 2, C.DMA_MAP, 1),
  msg('out', 3, C.DMA_MAP, 0, p.encodeDmaMapRequest({ flags: 3, offset: 0, address: 0x1000, size: 0x1000 })),
  msg('in', 3, C.DMA_MAP, 0x21, undefined, p.Errno.EEXIST),
  msg('out', 4, C.REGION_WRITE, 0x10, p.encodeRegionWriteRequest({ region: 0, offset: 0, data: Buffer.alloc(4) })),
  msg('out', 5, C.REGION_WRITE_MULTI, 0x10, p.encodeWriteMultiRequest({ entries: [{ offset: 0, region: 0, count: 4, data: Buffer.alloc(4) }, { offset: 4, region: 0, count: 4, data: Buffer.alloc(4) }] })),
  msg('in', 9, C.DMA_READ, 0, p.encodeDmaReadRequest({ address: 0, count: 0x200 })),
  msg('out', 9, C.DMA_READ, 1, p.encodeDmaReadReply({ address: 0, data: Buffer.alloc(0x200) })),
  msg('in', 10, C.DMA_WRITE, 0, p.encodeDmaWriteRequest({ address: 0, data: Buffer.alloc(0x100) })),
  msg('out', 10, C.DMA_WRITE, 1),
  { kind: 'interrupt', type: 'msix', vector: 1 },
  { kind: 'dma', path: 'mapping', direction: 'write', bytes: 0x3000 },
  msg('out', 6, C.DMA_UNMAP, 0, p.encodeDmaUnmapRequest({ flags: 0, address: 0, size: 0x1000 })),
  msg('in', 6, C.DMA_UNMAP, 1, p.encodeDmaUnmapReply({ argsz: 24, flags: 0, address: 0, size: 0x1000 })),
  msg('out', 7, C.DMA_UNMAP, 0, p.encodeDmaUnmapRequest({ flags: 2, address: 0, size: 0 })),
  msg('in', 7, C.DMA_UNMAP, 1, p.encodeDmaUnmapReply({ argsz: 24, flags: 2, address: 0, size: 0 })),
];

test('counts messages, errors, latency, posted writes, DMA bytes by path, interrupts and the maps held', async () => {
  const snapshots = await lastValueFrom(from(script).pipe(metricUpdates(), metricsSnapshots(), toArray()));
  const last = snapshots[snapshots.length - 1]!;
  assert.equal(last.messages['DMA_MAP command client_to_server'], 3);
  assert.equal(last.messages['DMA_MAP reply server_to_client'], 3);
  assert.equal(last.messages['DMA_READ command server_to_client'], 1);
  assert.equal(last.messages['DMA_READ reply client_to_server'], 1);
  assert.equal(last.errors, { 'DMA_MAP EEXIST': 1 });
  assert.equal(last.latency['DMA_MAP']!.count, 3);
  assert.ok(Math.abs(last.latency['DMA_MAP']!.sumSeconds - 0.006) < 1e-9, 'each reply 2 ms after its command');
  assert.is(last.latency['DMA_MAP']!.buckets['0.0025'], 3);
  assert.is(last.latency['REGION_WRITE'], undefined, 'a posted write has no reply');
  assert.is(last.postedWrites, 3, 'one REGION_WRITE and two WRITE_MULTI entries');
  assert.equal(last.dmaBytes, { 'messages read': 0x200, 'messages write': 0x100, 'mapping write': 0x3000 });
  assert.equal(last.interrupts, { 'msix 1': 1 });
  assert.is(last.dmaMaps, 0, 'the last unmap was ALL');
  const held = snapshots.map((s) => s.dmaMaps);
  assert.ok(held.includes(2) && !held.includes(3), 'two maps held at most: the third failed');
  assert.is(snapshots[0]!.messages['DMA_MAP command client_to_server'], 1, 'a snapshot per update');
});

test('the server\'s view names the flows the same way', async () => {
  const serverSide = [msg('in', 1, C.DEVICE_RESET, 0), msg('out', 1, C.DEVICE_RESET, 1)];
  const updates = await lastValueFrom(from(serverSide).pipe(metricUpdates({ side: 'server' }), toArray()));
  assert.equal(updates.filter((u) => u.kind === 'message'), [
    { kind: 'message', command: 'DEVICE_RESET', type: 'command', flow: 'client_to_server' },
    { kind: 'message', command: 'DEVICE_RESET', type: 'reply', flow: 'server_to_client' },
  ]);
});

test('a reply that matches no command counts as a message, with no latency', async () => {
  const updates = await lastValueFrom(from([msg('in', 77, C.REGION_READ, 1)]).pipe(metricUpdates(), toArray()));
  assert.equal(updates.map((u) => u.kind), ['message']);
});

test.run();
