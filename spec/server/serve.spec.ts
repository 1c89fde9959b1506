// serve() over real UNIX sockets: the spec's backend conventions, one client at a time, twin socket.
import { existsSync, ftruncateSync, mkdtempSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { firstValueFrom, lastValueFrom, tap } from 'rxjs';
import { native } from '../../src/native/index.js';
import { Command, DmaMapFlags } from '../../src/protocol/constants.js';
import { encodeDmaMapRequest } from '../../src/protocol/dma.js';
import { RemoteError } from '../../src/protocol/errors.js';
import { decodeRegionReadReply, encodeRegionReadRequest, encodeRegionWriteRequest } from '../../src/protocol/region-access.js';
import { encodeDeviceInfoRequest } from '../../src/protocol/device-info.js';
import { SocketInUseError, serve, serveUntilSignal, type DeviceContext, type ServeOptions, type ServerEvent } from '../../src/server/index.js';
import { connectClient, until } from './socket-client.js';
import { K, kitchenSink, u32 } from './fixtures.js';
import { fdsOpenedSince, openFds, type FdSnapshot } from '../fixtures/fds.js';

const test = suite<{ dir: string; path: string; fds: FdSnapshot }>('serve', { dir: '', path: '', fds: new Map() });
test.before.each((ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'vfu-serve-'));
  ctx.path = join(ctx.dir, 'sock');
  ctx.fds = openFds();
});
test.after.each((ctx) => {
  rmSync(ctx.dir, { recursive: true, force: true });
});

/** Waits until every fd opened since `fds` is closed again (closes happen on later turns of the loop). */
const noLeak = (fds: FdSnapshot) => until(() => fdsOpenedSince(fds).length === 0);

const served = (path: string, options: ServeOptions = {}) => {
  const events: ServerEvent[] = [];
  let context: DeviceContext | undefined;
  const device = kitchenSink([], (c) => (context = c));
  const sub = serve(device, { socketPath: path }, options).subscribe({ next: (e) => events.push(e) });
  return { events, sub, device, ctx: () => context! };
};

test('creates the socket with mode 0600, reports it, and removes it when stopped', async ({ path, fds }) => {
  const { events, sub } = served(path);
  assert.is(statSync(path).mode & 0o777, 0o600);
  assert.equal(events, [{ kind: 'listening', path }]);
  sub.unsubscribe();
  assert.not.ok(existsSync(path));
  await noLeak(fds);
});

test('replaces a stale socket file nobody answers on', async ({ path, fds }) => {
  native.listen(path, 0o600).close();
  assert.ok(existsSync(path));
  const { sub } = served(path);
  const client = await connectClient(path);
  await client.request(Command.DEVICE_GET_INFO, encodeDeviceInfoRequest());
  client.close();
  sub.unsubscribe();
  await noLeak(fds);
});

test('refuses a socket another server answers on (never reporting "listening"), and leaves that server alone', async ({ path, fds }) => {
  const first = served(path);
  const seen: ServerEvent[] = [];
  const error = await lastValueFrom(serve(kitchenSink(), { socketPath: path }).pipe(tap((e) => seen.push(e)))).catch((e: unknown) => e);
  assert.instance(error, SocketInUseError);
  assert.equal(seen, []);
  const client = await connectClient(path);
  await client.request(Command.DEVICE_GET_INFO, encodeDeviceInfoRequest());
  client.close();
  first.sub.unsubscribe();
  await noLeak(fds);
});

test('refuses a path that is not a socket, and leaves the file alone', async ({ path }) => {
  writeFileSync(path, 'precious');
  const error = await lastValueFrom(serve(kitchenSink(), { socketPath: path })).catch((e: unknown) => e);
  assert.instance(error, SocketInUseError);
  assert.is(readFileSync(path, 'utf8'), 'precious');
});

test('refuses a second client at once with EBUSY while one is served; the first is not disturbed', async ({ path, fds }) => {
  const { events, sub } = served(path);
  const a = await connectClient(path);
  const second = await connectClient(path).catch((e: unknown) => e);
  assert.instance(second, RemoteError);
  assert.is((second as RemoteError).errno, 16);
  await a.request(Command.DEVICE_GET_INFO, encodeDeviceInfoRequest());
  a.close();
  const b = await connectClient(path);
  await b.request(Command.DEVICE_GET_INFO, encodeDeviceInfoRequest());
  b.close();
  await until(() => events.filter((e) => e.kind === 'disconnected').length === 2);
  assert.equal(events.map((e) => e.kind), ['listening', 'connected', 'disconnected', 'connected', 'disconnected']);
  sub.unsubscribe();
  await noLeak(fds);
});

test('with whenBusy "queue", serves one client at a time; the next is accepted after a disconnect and finds the device state', async ({ path, fds }) => {
  const { events, sub } = served(path, { whenBusy: 'queue' });
  const a = await connectClient(path);
  const pending = connectClient(path);
  await a.request(Command.REGION_WRITE, encodeRegionWriteRequest({ offset: 0, region: K.MMIO, data: u32(0xc0ffee) }));
  a.close();
  const b = await pending;
  const reply = await b.request(Command.REGION_READ, encodeRegionReadRequest({ offset: 0, region: K.MMIO, count: 4 }));
  assert.is(decodeRegionReadReply(reply.payload).data?.readUInt32LE(0), 0xc0ffee);
  b.close();
  await until(() => events.filter((e) => e.kind === 'disconnected').length === 2);
  assert.equal(events.map((e) => e.kind), ['listening', 'connected', 'disconnected', 'connected', 'disconnected']);
  sub.unsubscribe();
  await noLeak(fds);
});

test('serves an already-listening socket given as an fd (--fd)', async ({ path, fds }) => {
  const listener = native.listen(path, 0o600);
  const fd = native.dup(listener.fd);
  listener.close();
  const sub = serve(kitchenSink(), { fd }).subscribe();
  const client = await connectClient(path);
  await client.request(Command.DEVICE_GET_INFO, encodeDeviceInfoRequest());
  client.close();
  sub.unsubscribe();
  assert.ok(existsSync(path), 'a socket it did not create is not removed');
  await noLeak(fds);
});

test('a client that breaks the framing is disconnected, and the next one is served', async ({ path, fds }) => {
  const { sub } = served(path);
  const bad = native.connect(path);
  const header = Buffer.alloc(16);
  header.writeUInt32LE(8, 4);
  bad.send([header]);
  const good = await connectClient(path);
  await good.request(Command.DEVICE_GET_INFO, encodeDeviceInfoRequest());
  good.close();
  bad.close();
  sub.unsubscribe();
  await noLeak(fds);
});

/** Sends one raw message on a fresh connection and resolves with the reply's header fields once it arrives. */
const refusedFirst = async (path: string, message: Buffer, fds: readonly number[] = []): Promise<{ command: number; error: number }> => {
  const raw = native.connect(path);
  const reply = new Promise<{ command: number; error: number }>((resolve, reject) => {
    let got = Buffer.alloc(0);
    raw.start({
      data: (chunk) => {
        got = Buffer.concat([got, chunk]);
        if (got.length >= 16) resolve({ command: got.readUInt16LE(2), error: got.readUInt32LE(12) });
      },
      end: () => reject(new Error('closed without a reply')),
      error: reject,
    });
  });
  raw.send([message], fds);
  const r = await reply;
  raw.close();
  return r;
};

const header = (command: number, size: number, flags = 0) => {
  const h = Buffer.alloc(16);
  h.writeUInt16LE(1, 0);
  h.writeUInt16LE(command, 2);
  h.writeUInt32LE(size, 4);
  h.writeUInt32LE(flags, 8);
  return h;
};

for (const [what, message, withFd] of [
  ['a command before VERSION', Buffer.concat([header(Command.DEVICE_GET_INFO, 32), Buffer.alloc(16)]), false],
  ['VERSION with major 1', Buffer.concat([header(Command.VERSION, 20), Buffer.from([1, 0, 0, 0])]), false],
  ['VERSION with invalid JSON', Buffer.concat([header(Command.VERSION, 24), Buffer.from([0, 0, 2, 0]), Buffer.from('{x\0\0')]), false],
  ['VERSION with an fd attached', Buffer.concat([header(Command.VERSION, 20), Buffer.from([0, 0, 0, 0])]), true],
] as const) {
  test(`${what} is refused with EINVAL (its fds closed), and the next client is served`, async ({ path, fds }) => {
    const { sub } = served(path);
    const fd = withFd ? [native.eventfd(0)] : [];
    const refused = await refusedFirst(path, message, fd);
    fd.forEach(native.close);
    assert.is(refused.error, 22);
    const good = await connectClient(path);
    await good.request(Command.DEVICE_GET_INFO, encodeDeviceInfoRequest());
    good.close();
    sub.unsubscribe();
    await noLeak(fds);
  });
}

test('a client that shrinks its guest memory after DMA_MAP cannot crash the server: DMA there fails with EFAULT', async ({ path, fds }) => {
  const { sub, ctx } = served(path);
  const client = await connectClient(path);
  const memfd = native.memfd('guest', 0x4000, { sealed: false }); // a hostile client's own memfd
  const map = { flags: DmaMapFlags.READ | DmaMapFlags.WRITE, offset: 0, address: 0, size: 0x4000 };
  await client.request(Command.DMA_MAP, encodeDmaMapRequest(map), [memfd]);
  assert.ok((await firstValueFrom(ctx().dma.read(0x2000, 16))).equals(Buffer.alloc(16)), 'mapped while the file is whole');
  ftruncateSync(memfd, 0x1000);
  for (const attempt of [0x2000, 0x2000, 0x100]) {
    const err = await firstValueFrom(ctx().dma.read(attempt, 16)).catch((e: unknown) => e);
    assert.is((err as { errno?: number }).errno, 14, `read at 0x${attempt.toString(16)} after the shrink`);
  }
  const write = await lastValueFrom(ctx().dma.write(0x3000, Buffer.from('gone')), { defaultValue: undefined }).catch((e: unknown) => e);
  assert.is((write as { errno?: number }).errno, 14);
  await client.request(Command.DEVICE_GET_INFO, encodeDeviceInfoRequest());
  client.close();
  native.close(memfd);
  sub.unsubscribe();
  await noLeak(fds);
});

test('with a twin socket, the server\'s DMA requests go on it', async ({ path, fds }) => {
  const { sub, ctx } = served(path);
  const memory = Buffer.alloc(0x4000, 0x11);
  const client = await connectClient(path, { memory, caps: { max_msg_fds: 8, twin_socket: { supported: true }, max_data_xfer_size: 65536 } });
  assert.ok(client.twin);
  assert.equal((client.version.json as { capabilities: { twin_socket: unknown } }).capabilities.twin_socket, { supported: true, fd_index: 0 });
  await client.request(Command.DMA_MAP, encodeDmaMapRequest({ flags: DmaMapFlags.READ | DmaMapFlags.WRITE, offset: 0, address: 0, size: 0x4000 }));
  const data = await firstValueFrom(ctx().dma.read(0x100, 16));
  assert.ok(data.equals(Buffer.alloc(16, 0x11)));
  await lastValueFrom(ctx().dma.write(0x200, Buffer.from('twin')), { defaultValue: undefined });
  assert.is(memory.subarray(0x200, 0x204).toString(), 'twin');
  assert.equal(client.dma.map((d) => [d.command, d.socket]), [['DMA_READ', 'twin'], ['DMA_WRITE', 'twin']]);
  client.close();
  sub.unsubscribe();
  await noLeak(fds);
});

test('errors come back as error replies over the socket, and the connection stays usable', async ({ path, fds }) => {
  const { sub } = served(path);
  const client = await connectClient(path);
  const err = await client.request(Command.REGION_READ, encodeRegionReadRequest({ offset: 100, region: K.IO, count: 4 })).catch((e: unknown) => e);
  assert.instance(err, RemoteError);
  assert.is((err as RemoteError).errno, 22);
  await client.request(Command.DEVICE_GET_INFO, encodeDeviceInfoRequest());
  client.close();
  sub.unsubscribe();
  await noLeak(fds);
});

test('serveUntilSignal stops cleanly on SIGTERM: client closed, socket removed', async ({ path, fds }) => {
  const events: ServerEvent[] = [];
  const done = serveUntilSignal(kitchenSink(), { socketPath: path }, { onEvent: (e) => events.push(e) });
  const client = await connectClient(path);
  await client.request(Command.DEVICE_GET_INFO, encodeDeviceInfoRequest());
  process.kill(process.pid, 'SIGTERM');
  await done;
  assert.not.ok(existsSync(path));
  assert.equal(events.map((e) => e.kind), ['listening', 'connected']);
  client.close();
  await noLeak(fds);
});

test.run();
