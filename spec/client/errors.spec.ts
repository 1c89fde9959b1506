import { catchError, firstValueFrom, lastValueFrom, map, of, shareReplay, switchMap, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { realizeOn$, type ClientOptions } from '../../src/client/index.js';
import * as p from '../../src/protocol/index.js';
import type { Frame } from '../../src/protocol/frame.js';
import type { FakeSpec } from './fixtures/fake-device.js';
import { mockPeer } from './fixtures/peers.js';

const { Command, DeviceFlags } = p;
const done = (o: Observable<unknown>) => lastValueFrom(o, { defaultValue: undefined });
const scheduler = () => new TestScheduler((actual, expected) => assert.equal(actual, expected));
const dropRead = (f: Frame) => (f.header.command === Command.REGION_READ && p.decodeRegionReadRequest(f.payload).region === 0 ? 'drop' : 'default');
const describe = (e: unknown) =>
  e instanceof p.ReplyTimeoutError ? `${e.name} ${e.command} ${e.timeoutMs}` : `${(e as Error).name}`;

/** Realizes on a peer whose replies take 1 ms of virtual time each; emits the device. */
const virtualDevice = (ts: TestScheduler, spec: FakeSpec, options: ClientOptions = {}) => {
  const peer = mockPeer(spec, (fn) => ts.schedule(fn, 1));
  return realizeOn$(peer.conn, { ...options, scheduler: ts }).pipe(shareReplay(1));
};

test('a request without a reply fails with ReplyTimeoutError after the default 5 s', () => {
  const ts = scheduler();
  ts.run(({ expectObservable }) => {
    const dev$ = virtualDevice(ts, { override: dropRead });
    expectObservable(dev$.pipe(map(() => 'dev'))).toBe('17ms (d|)', { d: 'dev' });
    const read$ = dev$.pipe(
      switchMap((d) => d.region(0).read(0, 4)),
      catchError((e: unknown) => of(describe(e))),
    );
    expectObservable(read$, '100ms ^').toBe('100ms 5000ms (e|)', { e: 'ReplyTimeoutError REGION_READ 5000' });
  });
});

test('the timeout is configurable (x-msg-timeout)', () => {
  const ts = scheduler();
  ts.run(({ expectObservable }) => {
    const dev$ = virtualDevice(ts, { override: dropRead }, { timeoutMs: 250 });
    expectObservable(dev$.pipe(map(() => 'dev'))).toBe('17ms (d|)', { d: 'dev' });
    const read$ = dev$.pipe(
      switchMap((d) => d.region(0).read(0, 4)),
      catchError((e: unknown) => of(describe(e))),
    );
    expectObservable(read$, '100ms ^').toBe('100ms 250ms (e|)', { e: 'ReplyTimeoutError REGION_READ 250' });
  });
});

test('a server that never answers VERSION fails realize within the timeout', () => {
  const ts = scheduler();
  ts.run(({ expectObservable }) => {
    const dev$ = virtualDevice(ts, { override: () => 'drop' }, { timeoutMs: 1000 });
    expectObservable(dev$.pipe(map(() => 'dev'), catchError((e: unknown) => of(`${(e as p.ConnectError).code} ${(e as p.ConnectError).errno}`)))).toBe(
      '1000ms (e|)',
      { e: 'ERR_VFIO_USER_CONNECT ETIMEDOUT' },
    );
  });
});

test('a disconnect fails every pending request and ends interrupts$ with the same cause', async () => {
  const peer = mockPeer({ override: dropRead });
  const dev = await firstValueFrom(realizeOn$(peer.conn));
  await done(dev.enableInterrupts('msi', 1));
  const reads = [firstValueFrom(dev.region(0).read(0, 4)), firstValueFrom(dev.region(0).read(4, 4))].map((r) => r.catch((e: unknown) => e));
  const irq = lastValueFrom(dev.interrupts$).catch((e: unknown) => e);
  const closed = firstValueFrom(dev.closed$);
  peer.disconnect();
  const [a, b] = await Promise.all(reads);
  assert.instance(a, p.DisconnectedError);
  assert.is(a, b);
  assert.is(await irq, a);
  assert.is(await closed, a);
  const later = await firstValueFrom(dev.region(0).read(0, 4)).catch((e: unknown) => e);
  assert.is(later, a, 'a request after the end fails with the same cause');
  await done(dev.close());
});

test('close is idempotent: a second close sends nothing and completes', async () => {
  const peer = mockPeer();
  const dev = await firstValueFrom(realizeOn$(peer.conn));
  await done(dev.enableInterrupts('msix', 2));
  await done(dev.close());
  const count = peer.device.received.length;
  await done(dev.close());
  await Promise.all([done(dev.close()), done(dev.close())]);
  assert.is(peer.device.received.length, count);
  assert.ok(peer.conn.closed);
});

test('a close after the server went away still releases everything and completes', async () => {
  const peer = mockPeer();
  const dev = await firstValueFrom(realizeOn$(peer.conn));
  await done(dev.enableInterrupts('msix', 2));
  peer.disconnect();
  await firstValueFrom(dev.closed$);
  await done(dev.close());
  assert.ok(peer.conn.closed);
});

test('reset sends DEVICE_RESET when the device reports RESET', async () => {
  const peer = mockPeer();
  const dev = await firstValueFrom(realizeOn$(peer.conn));
  await done(dev.reset());
  assert.equal(peer.device.commands().slice(-1), ['DEVICE_RESET']);
  await done(dev.close());
});

test('reset without the RESET flag is UnsupportedError and sends nothing', async () => {
  const peer = mockPeer({ deviceFlags: DeviceFlags.PCI });
  const dev = await firstValueFrom(realizeOn$(peer.conn));
  const count = peer.device.received.length;
  const err = await done(dev.reset()).catch((e: unknown) => e);
  assert.instance(err, p.UnsupportedError);
  assert.is((err as p.UnsupportedError).code, 'ERR_VFIO_USER_UNSUPPORTED');
  assert.is(peer.device.received.length, count);
  await done(dev.close());
});

test('a reset the server refuses is a RemoteError', async () => {
  const peer = mockPeer({ override: (f) => (f.header.command === Command.DEVICE_RESET ? { errno: p.Errno.EBUSY } : 'default') });
  const dev = await firstValueFrom(realizeOn$(peer.conn));
  const err = await done(dev.reset()).catch((e: unknown) => e);
  assert.instance(err, p.RemoteError);
  assert.is((err as p.RemoteError).errnoName, 'EBUSY');
  await done(dev.close());
});

test('unsubscribing from realize before it finishes closes the connection', async () => {
  const peer = mockPeer({ override: (f) => (f.header.command === Command.DEVICE_GET_INFO ? 'drop' : 'default') });
  const sub = realizeOn$(peer.conn).subscribe();
  await new Promise((r) => setImmediate(r));
  assert.equal(peer.device.commands(), ['VERSION', 'DEVICE_GET_INFO']);
  sub.unsubscribe();
  assert.ok(peer.conn.closed);
});

test.run();
