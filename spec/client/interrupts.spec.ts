import { firstValueFrom, lastValueFrom, take, toArray, type Observable } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { realizeOn$, type ClientOptions, type InterruptSignal } from '../../src/client/index.js';
import { native } from '../../src/native/index.js';
import * as p from '../../src/protocol/index.js';
import type { FakeSpec } from './fixtures/fake-device.js';
import { mockPeer } from './fixtures/peers.js';

const { Command, IrqSetFlags: F } = p;
const done = (o: Observable<unknown>) => lastValueFrom(o, { defaultValue: undefined });
const open = async (spec: FakeSpec = {}, options: ClientOptions = {}) => {
  const peer = mockPeer(spec);
  const dev = await firstValueFrom(realizeOn$(peer.conn, options));
  peer.device.received.length = 0;
  return { peer, dev };
};
const setIrqs = (peer: ReturnType<typeof mockPeer>) =>
  peer.device.of(Command.DEVICE_SET_IRQS).map((f) => ({ ...p.decodeSetIrqsRequest(f.payload), fds: [...f.fds] }));
const isClosed = (fd: number) => {
  try {
    native.fileSize(fd);
    return false;
  } catch {
    return true;
  }
};

test('eventfds go in chunks of the server\'s max_msg_fds, start advancing per chunk', async () => {
  const { peer, dev } = await open({ caps: { max_msg_fds: 3 } });
  await done(dev.enableInterrupts('msix'));
  const sets = setIrqs(peer);
  assert.equal(
    sets.map((s) => [s.flags, s.index, s.start, s.count, s.fds.length, s.argsz]),
    [
      [F.DATA_EVENTFD | F.ACTION_TRIGGER, 2, 0, 3, 3, 20],
      [F.DATA_EVENTFD | F.ACTION_TRIGGER, 2, 3, 3, 3, 20],
      [F.DATA_EVENTFD | F.ACTION_TRIGGER, 2, 6, 2, 2, 20],
    ],
  );
  assert.is(new Set(sets.flatMap((s) => s.fds)).size, 8, 'one distinct eventfd per vector');
  await done(dev.close());
});

test('a vector count equal to max_msg_fds is one SET_IRQS', async () => {
  const { peer, dev } = await open({ caps: { max_msg_fds: 4 } });
  await done(dev.enableInterrupts('msi', 4));
  assert.equal(setIrqs(peer).map((s) => [s.start, s.count, s.fds.length]), [[0, 4, 4]]);
  await done(dev.close());
});

test('interrupts$ emits { index, vector } for each signal of an enabled eventfd', async () => {
  const { peer, dev } = await open({ caps: { max_msg_fds: 8 } });
  const got = firstValueFrom(dev.interrupts$.pipe(take(2), toArray()));
  await done(dev.enableInterrupts('msix', 4));
  const fds = setIrqs(peer)[0]!.fds;
  native.eventfdWrite(fds[2]!);
  const first = await firstValueFrom(dev.interrupts$);
  native.eventfdWrite(fds[0]!, 3n);
  const both = await got;
  assert.equal([first.index, first.type, first.vector], [2, 'msix', 2]);
  assert.equal(both.map((s) => [s.index, s.vector, s.count]), [[2, 2, 1n], [2, 0, 3n]]);
  await done(dev.close());
});

test('INTx is automasked: ack() unmasks it (DATA_NONE|UNMASK)', async () => {
  const { peer, dev } = await open();
  await done(dev.enableInterrupts('intx'));
  const signal = firstValueFrom(dev.interrupts$);
  native.eventfdWrite(setIrqs(peer)[0]!.fds[0]!);
  const s: InterruptSignal = await signal;
  assert.equal(setIrqs(peer).length, 1, 'nothing is unmasked before the ack');
  await done(s.ack());
  const unmask = setIrqs(peer)[1]!;
  assert.equal([unmask.flags, unmask.index, unmask.start, unmask.count], [F.DATA_NONE | F.ACTION_UNMASK, 0, 0, 1]);
  await done(dev.close());
});

test('with autoAck the client unmasks INTx by itself after each signal', async () => {
  const { peer, dev } = await open({}, { autoAck: true });
  await done(dev.enableInterrupts('intx'));
  const signal = firstValueFrom(dev.interrupts$);
  native.eventfdWrite(setIrqs(peer)[0]!.fds[0]!);
  await signal;
  await done(dev.fence());
  assert.equal(setIrqs(peer).map((s) => s.flags), [F.DATA_EVENTFD | F.ACTION_TRIGGER, F.DATA_NONE | F.ACTION_UNMASK]);
  await done(dev.close());
});

test('ack() of an MSI-X vector sends nothing', async () => {
  const { peer, dev } = await open();
  await done(dev.enableInterrupts('msix', 1));
  const signal = firstValueFrom(dev.interrupts$);
  native.eventfdWrite(setIrqs(peer)[0]!.fds[0]!);
  await done((await signal).ack());
  assert.is(setIrqs(peer).length, 1);
  await done(dev.close());
});

test('mask, unmask, trigger and disable send the SET_IRQS the spec defines', async () => {
  const { peer, dev } = await open();
  await done(dev.enableInterrupts('msi', 4));
  const fds = setIrqs(peer)[0]!.fds;
  peer.device.received.length = 0;
  await done(dev.maskInterrupts('msi', 1, 2));
  await done(dev.unmaskInterrupts('msi', 1, 2));
  await done(dev.triggerInterrupt('msi', 3));
  await done(dev.triggerInterrupt('msi', [true, false, true]));
  await done(dev.disableInterrupts('msi'));
  assert.equal(
    setIrqs(peer).map((s) => [s.flags, s.index, s.start, s.count, s.argsz, [...(s.data ?? [])]]),
    [
      [F.DATA_NONE | F.ACTION_MASK, 1, 1, 2, 20, []],
      [F.DATA_NONE | F.ACTION_UNMASK, 1, 1, 2, 20, []],
      [F.DATA_NONE | F.ACTION_TRIGGER, 1, 3, 1, 20, []],
      [F.DATA_BOOL | F.ACTION_TRIGGER, 1, 0, 3, 23, [1, 0, 1]],
      [F.DATA_NONE | F.ACTION_TRIGGER, 1, 0, 0, 20, []],
    ],
  );
  assert.ok(fds.every(isClosed), 'disable closes the eventfds');
  await done(dev.close());
});

test('enabling a type the device lacks, or without eventfd support, is UnsupportedError', async () => {
  const irqs = [0, 1, 2, 3, 4].map((index) => ({ argsz: 16, flags: index === 1 ? 0 : 1, index, count: index === 2 ? 0 : 1 }));
  const { peer, dev } = await open({ irqs });
  const none = await done(dev.enableInterrupts('msix')).catch((e: unknown) => e);
  const noEventfd = await done(dev.enableInterrupts('msi')).catch((e: unknown) => e);
  assert.instance(none, p.UnsupportedError);
  assert.instance(noEventfd, p.UnsupportedError);
  assert.equal(peer.device.received, []);
  await done(dev.close());
});

test('more vectors than the device has is RangeError; a server taking no fds is LimitError', async () => {
  const { dev } = await open({ caps: { max_msg_fds: 0 } });
  const tooMany = await done(dev.enableInterrupts('msi', 5)).catch((e: unknown) => e);
  const noFds = await done(dev.enableInterrupts('msi', 1)).catch((e: unknown) => e);
  assert.instance(tooMany, RangeError);
  assert.instance(noFds, p.LimitError);
  await done(dev.close());
});

test('a failed SET_IRQS closes the eventfds it created', async () => {
  const { peer, dev } = await open({ override: (f) => (f.header.command === Command.DEVICE_SET_IRQS ? { errno: p.Errno.EINVAL } : 'default') });
  const err = await done(dev.enableInterrupts('msi', 2)).catch((e: unknown) => e);
  assert.instance(err, p.RemoteError);
  assert.ok(setIrqs(peer)[0]!.fds.every(isClosed));
  await done(dev.close());
});

test('when eventfds run out (EMFILE) midway, enable fails and closes the ones it made', async () => {
  const made: number[] = [];
  const scarce = {
    ...native,
    eventfd: (initval?: number) => {
      if (made.length === 3) throw new p.NativeError('eventfd', 24, 'EMFILE: too many open files');
      const fd = native.eventfd(initval);
      made.push(fd);
      return fd;
    },
  };
  const { peer, dev } = await open({}, { native: scarce });
  const err = await done(dev.enableInterrupts('msix', 8)).catch((e: unknown) => e);
  assert.instance(err, p.NativeError);
  assert.is(made.length, 3);
  assert.ok(made.every(isClosed), 'the eventfds made before the failure are closed');
  assert.equal(setIrqs(peer), [], 'nothing was sent');
  await done(dev.close());
});

test('close disables every enabled type, closes the eventfds and completes interrupts$', async () => {
  const { peer, dev } = await open();
  await done(dev.enableInterrupts('msix', 2));
  await done(dev.enableInterrupts('err'));
  const fds = setIrqs(peer).flatMap((s) => s.fds);
  peer.device.received.length = 0;
  const ended = lastValueFrom(dev.interrupts$, { defaultValue: 'completed' });
  await done(dev.close());
  assert.equal(setIrqs(peer).map((s) => [s.index, s.start, s.count]), [[2, 0, 0], [3, 0, 0]]);
  assert.is(await ended, 'completed');
  assert.ok(fds.every(isClosed));
});

test.run();
