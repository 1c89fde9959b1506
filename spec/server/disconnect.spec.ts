// A client going away: its mappings and eventfds are released, the device state stays, and
// the next client (which waited its turn) finds it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Subject, filter, firstValueFrom, map } from 'rxjs';
import { HeaderFlags, MessageType } from '../../src/protocol/constants.js';
import { decodeRegionReadReply } from '../../src/protocol/region-access.js';
import type { Connection } from '../../src/wire/connection.js';
import type { Frame } from '../../src/protocol/frame.js';
import { asFrame, mockConnection } from '../../src/wire/mock.js';
import { PciConfig } from '../../src/pci/index.js';
import { defaultLimits, fakeIo, requests, runDevice, type ServerEvent } from '../../src/server/index.js';
import { K, assertErrno, assertOk, kitchenSink, openSink, u16, u32 } from './fixtures.js';
import { Errno } from '../../src/protocol/errno.js';

test('on hang-up every mapping is unmapped, every eventfd closed, and the hook hears "disconnect"', async () => {
  const { bed, session, resets, ctx } = openSink();
  const connected: boolean[] = [];
  ctx().connected$.subscribe((c) => connected.push(c));
  const irqs = bed.irqs('msix', 0, 4);
  const mask = bed.irqs('intx', 0, 1, 'mask');
  assertOk(await session.send(irqs));
  assertOk(await session.send(mask));
  assertOk(await session.send(bed.map(0, 0x1000, 'fd')));
  const before = bed.io.openFds().length;
  session.hangUp();
  assert.equal(resets, ['disconnect']);
  assert.ok([...irqs.fds, ...mask.fds].every((fd) => !bed.io.isOpen(fd)));
  assert.is(bed.io.openFds().length, before - 5);
  assert.equal(connected, [true, false]);
  session.stop();
});

/** Drives runDevice with mock connections, one client after the other. */
const twoClients = (whenBusy: 'refuse' | 'queue' = 'queue') => {
  const io = fakeIo();
  const connections = new Subject<Connection>();
  const events: ServerEvent[] = [];
  const device = kitchenSink();
  const sub = runDevice(device, connections, { io, limits: defaultLimits, timeoutMs: 0, whenBusy }).subscribe((e) => events.push(e));
  const client = () => {
    const frames = new Subject<Frame>();
    const conn = mockConnection(frames);
    const req = requests();
    const send = (f: Frame) => {
      const reply = firstValueFrom(conn.sent$.pipe(filter((m) => m.id === f.header.id && (m.flags & HeaderFlags.TYPE_MASK) === MessageType.REPLY), map(asFrame)));
      frames.next(f);
      return reply;
    };
    return { conn, frames, req, send };
  };
  return { io, connections, events, sub, client, device };
};

test('one client at a time (whenBusy "queue"): the second waits until the first hangs up, then finds the device state kept', async () => {
  const { connections, events, sub, client, device } = twoClients();
  const a = client();
  const b = client();
  connections.next(a.conn);
  connections.next(b.conn);
  await a.send(a.req.version());
  assert.not.ok(b.frames.observed, 'the second client is not read yet');
  assertOk(await a.send(a.req.configWrite(PciConfig.COMMAND, u16(0x0006))));
  assertOk(await a.send(a.req.regionWrite(K.MMIO, 0, u32(0xfeedf00d))));
  a.frames.complete();
  assert.ok(b.frames.observed, 'read once the first is gone');
  assertOk(await b.send(b.req.version()));
  const cmd = decodeRegionReadReply(assertOk(await b.send(b.req.configRead(PciConfig.COMMAND, 2))).payload);
  assert.is(cmd.data?.readUInt16LE(0), 0x0006);
  assert.is(device.mmio.readUInt32LE(0), 0xfeedf00d);
  assert.equal(events.map((e) => e.kind), ['connected', 'disconnected', 'connected']);
  sub.unsubscribe();
});

test('one client at a time (whenBusy "refuse"): the second gets EBUSY for its VERSION and is closed; the first is untouched', async () => {
  const { connections, events, sub, client, device } = twoClients('refuse');
  const a = client();
  const b = client();
  connections.next(a.conn);
  assertOk(await a.send(a.req.version()));
  connections.next(b.conn);
  assertErrno(await b.send(b.req.version()), Errno.EBUSY);
  assert.ok(b.conn.closed, 'the refused client is closed');
  assertOk(await a.send(a.req.regionWrite(K.MMIO, 0, u32(0xfeedf00d))));
  assert.is(device.mmio.readUInt32LE(0), 0xfeedf00d);
  assert.equal(events.map((e) => e.kind), ['connected']);
  sub.unsubscribe();
});

test('whenBusy "refuse": a client whose first message comes after the first client left is served', async () => {
  const { connections, events, sub, client } = twoClients('refuse');
  const a = client();
  const b = client();
  connections.next(a.conn);
  assertOk(await a.send(a.req.version()));
  connections.next(b.conn);
  a.frames.complete();
  assertOk(await b.send(b.req.version()));
  assertOk(await b.send(b.req.deviceInfo()));
  assert.equal(events.map((e) => e.kind), ['connected', 'disconnected', 'connected']);
  sub.unsubscribe();
});

test('stopping the server closes waiting connections and releases what the current client held', async () => {
  const { io, connections, sub, client } = twoClients();
  const a = client();
  const b = client();
  connections.next(a.conn);
  connections.next(b.conn);
  await a.send(a.req.version());
  const fd = io.eventfd();
  assertOk(await a.send(a.req.setIrqs({ flags: 0x24, index: 2, start: 0, count: 1 }, { fds: [fd] })));
  sub.unsubscribe();
  assert.ok(a.conn.closed);
  assert.ok(b.conn.closed);
  assert.not.ok(io.isOpen(fd));
  assert.equal(io.openFds(), []);
});

test.run();
