import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Observable } from 'rxjs';
import { guestMemory, openDevice, type ClientDevice, type Device, type Interrupt } from '../../src/client/index.js';
import { native } from '../../src/native/index.js';
import * as p from '../../src/protocol/index.js';
import { socketPeer } from './fixtures/peers.js';
import { fdsOpenedSince, openFds } from '../fixtures/fds.js';

const { Command } = p;

test('openDevice: the Promise facade end to end over a real socket', async () => {
  const before = openFds();
  const server = socketPeer();

  const memory = guestMemory();
  const ram = memory.add({ iova: 0x0, size: 1 << 20 });
  const dev = await openDevice({ socketPath: server.path, memory });
  assert.equal([dev.config.vendorId, dev.config.deviceId], [0x4e58, 0x0001]);
  await dev.region(2).write(0x0, Buffer.of(1));
  assert.equal([...(await dev.region(2).read(0x0, 1))], [1]);
  await dev.enableInterrupts('msix', 4);
  const irqs = dev.interrupts();

  const fds = server.device().of(Command.DEVICE_SET_IRQS)[0]!.fds;
  native.eventfdWrite(fds[3]!);
  const first = (await irqs.next()).value as Interrupt;
  assert.equal([first.type, first.vector], ['msix', 3]);
  await first.ack();

  assert.equal(server.device().of(Command.DMA_MAP).map((f) => f.fds.length), [1], 'guest RAM mapped with its memfd');
  ram.buffer.write('ram');
  await dev.reset();
  await dev.close();
  await dev.close();
  assert.is((await irqs.next()).done, true, 'the interrupt iterator ends on close');
  memory.close();
  server.close();
  assert.equal(fdsOpenedSince(before), [], 'nothing leaks');
});

test('openDevice rejects with the typed error of the failure', async () => {
  const err = await openDevice({ socketPath: '/nonexistent/vfio-user.sock' }).catch((e: unknown) => e);
  assert.instance(err, p.ConnectError);
  assert.is((err as p.ConnectError).code, 'ERR_VFIO_USER_CONNECT');
});

test('dmaSettled rejects with the failure of the latest transaction', async () => {
  const server = socketPeer({ caps: { max_dma_maps: 1 } });
  const memory = guestMemory();
  memory.add({ iova: 0, size: 0x1000 });
  const dev = await openDevice({ socketPath: server.path, memory });
  memory.add({ iova: 0x1000, size: 0x1000 });
  const err = await dev.dmaSettled().catch((e: unknown) => e);
  assert.instance(err, p.LimitError);
  await dev.close();
  memory.close();
  server.close();
});

// The facade is derived from ClientDevice: these fail to compile if the derivation drifts.
type Is<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const typeChecks: [
  Is<ReturnType<Device['interrupts']>, AsyncIterableIterator<Interrupt>>,
  Is<ReturnType<Device['closed']>, Promise<p.DisconnectedError>>,
  Is<Parameters<Device['maskInterrupts']>, Parameters<ClientDevice['maskInterrupts']>>,
  Is<ReturnType<Device['fence']>, Promise<void>>,
  Is<Device['caps'], ClientDevice['caps']>,
  Is<ClientDevice['trace$'] extends Observable<infer T> ? AsyncIterableIterator<T> : never, ReturnType<Device['trace']>>,
] = [true, true, true, true, true, true];

test('the facade has every member of the Observable device, streams without their $, and stats live', async () => {
  const server = socketPeer();
  const dev = await openDevice({ socketPath: server.path });
  const expected = Object.keys(dev.rx).map((k) => k.replace(/\$$/, '')).concat('rx').sort();
  assert.equal(Object.keys(dev).sort(), expected);
  assert.equal(typeChecks.length, 6);
  const before = dev.stats.pending;
  const read = dev.region(2).read(0, 1);
  assert.is(dev.stats.pending, before + 1, 'stats is read through, not copied');
  await read;
  const closed = dev.closed();
  await dev.close();
  assert.instance(await closed, p.DisconnectedError, 'closed() resolves with the cause');
  server.close();
});

test.run();
