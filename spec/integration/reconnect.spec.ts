// A client that reconnects: the server is stopped and started again on the same path; the client
// negotiates again, maps guest memory and hands its interrupt eventfds over again, and DMA and
// interrupts work afterwards. When the server does not come back, closed$ ends it after the attempts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ReplaySubject, filter, firstValueFrom, type Subscription } from 'rxjs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { guestMemory, openDevice, type ClientOptions, type Interrupt, type ReconnectEvent } from '../../src/client/index.js';
import { DisconnectedError } from '../../src/protocol/errors.js';
import { DmaReg, DmaStatus, dmaEngineDevice } from '../../src/samples/index.js';
import { serve, type ServerEvent } from '../../src/server/index.js';
import { modes } from './harness.js';
import { fdsOpenedSince, openFds } from '../fixtures/fds.js';

const RAM = 0x100000;
const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};

/** A dma-engine served on `socketPath` until stopped. */
const server = async (socketPath: string) => {
  const seen = new ReplaySubject<ServerEvent>();
  const sub: Subscription = serve(dmaEngineDevice(), { socketPath }).subscribe({ next: (e) => seen.next(e), error: (e: unknown) => seen.error(e) });
  await firstValueFrom(seen.pipe(filter((e) => e.kind === 'listening')));
  return { stop: () => sub.unsubscribe(), connected: () => firstValueFrom(seen.pipe(filter((e) => e.kind === 'connected'))) };
};

const next = <T>(it: AsyncIterableIterator<T>, what: string): Promise<T> =>
  Promise.race([it.next().then((r) => r.value as T), new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no ${what} within 5 s`)), 5000))]);

for (const [mode, options] of Object.entries(modes)) {
  const test = suite(`reconnect, ${mode} mode`);

  test('the server restarts: the client reconnects, maps memory and hands interrupts over again; a copy and its MSI-X work', async () => {
    const before = openFds();
    const dir = mkdtempSync(path.join(tmpdir(), 'vfio-user-reconnect-'));
    const socketPath = path.join(dir, 'sock');
    const memory = guestMemory();
    const ram = memory.add({ iova: RAM, size: 0x10000 });
    let first = await server(socketPath);
    const dev = await openDevice({ ...(options as ClientOptions), socketPath, memory, reconnect: { attempts: 20, backoffMs: 20, maxBackoffMs: 100 } });
    const events = dev.reconnects();
    await dev.enableInterrupts('msix');
    const irqs = dev.interrupts();
    const msix = dev.config.capabilities.find((c) => c.kind === 'msix')!;
    const enableMsix = () => dev.region(7).write(msix.offset + 2, Buffer.from([0x00, 0x80]));
    const copy = async (text: string, at: number) => {
      ram.buffer.write(text, 0);
      const bar = dev.region(0);
      for (const [offset, value] of [[DmaReg.SRC_LO, RAM], [DmaReg.DST_LO, RAM + at], [DmaReg.LEN, text.length], [DmaReg.VECTOR, 1]] as const) await bar.write(offset, u32(value));
      await bar.write(DmaReg.DOORBELL, u32(1));
      const irq = await next(irqs, 'interrupt');
      assert.equal([(irq as Interrupt).type, (irq as Interrupt).vector], ['msix', 1]);
      assert.is(ram.buffer.toString('utf8', at, at + text.length), text);
    };
    await enableMsix();
    await copy('before the restart', 0x1000);

    first.stop();
    assert.is((await next(events, 'loss')).kind, 'lost');
    // A request made while the server is away waits for the new connection.
    const waiting = dev.region(0).read(DmaReg.STATUS, 4);
    await new Promise((r) => setTimeout(r, 60));
    first = await server(socketPath);
    let e: ReconnectEvent;
    do e = await next(events, 'reconnection');
    while (e.kind === 'retrying');
    assert.is(e.kind, 'reconnected');
    assert.is((await waiting).length, 4, 'the held read went out on the new connection');
    // A new server process: its device state is new, its DMA maps and eventfds are the replayed ones.
    await enableMsix();
    await copy('after the restart', 0x2000);
    assert.is((await dev.region(0).read(DmaReg.STATUS, 4)).readUInt32LE(0) & DmaStatus.DONE, DmaStatus.DONE);
    await irqs.return?.();
    await dev.close();
    first.stop();
    memory.close();
    rmSync(dir, { recursive: true, force: true });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(fdsOpenedSince(before), [], 'nothing of either connection leaks');
  });

  test.run();
}

const giving = suite('reconnect gives up');

giving('a server that does not come back: after the attempts closed() resolves with the cause, and requests fail with it', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vfio-user-reconnect-'));
  const socketPath = path.join(dir, 'sock');
  const s = await server(socketPath);
  const dev = await openDevice({ socketPath, reconnect: { attempts: 3, backoffMs: 10, maxBackoffMs: 20 } });
  const events = dev.reconnects();
  const closed = dev.closed();
  s.stop();
  const seen: string[] = [];
  for await (const e of events) seen.push(e.kind);
  assert.equal(seen, ['lost', 'retrying', 'retrying']);
  const cause = await closed;
  assert.instance(cause, DisconnectedError);
  assert.match(cause.message, /3 reconnection attempts failed/);
  const err = await dev.region(0).read(0, 4).catch((e: unknown) => e);
  assert.instance(err, DisconnectedError);
  await dev.close();
  rmSync(dir, { recursive: true, force: true });
});

giving('reconnect needs a socket path', async () => {
  const err = await openDevice({ fd: 99, reconnect: true }).catch((e: unknown) => e);
  assert.instance(err, RangeError);
});

giving.run();
