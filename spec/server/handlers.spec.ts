import { Subject, delay, isObservable, lastValueFrom, map, mergeMap, of, scan, throwError, type Observable } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { wireHandler } from '../../src/server/handlers.js';
import type { AccessResult, DeviceContext, RegionAccess } from '../../src/server/types.js';

// The port only hands the context to the operator; these operators do not use it.
const ctx = {} as DeviceContext;
const read = (offset: number, count = 1): RegionAccess => ({ kind: 'read', region: 2, offset, count });
const write = (offset: number, ...bytes: number[]): RegionAccess => ({ kind: 'write', region: 2, offset, data: Buffer.from(bytes) });

/** A register file as a scan: answers every access synchronously, in the push. */
const registers = (subscriptions: { count: number }) => (access$: Observable<RegionAccess>): Observable<AccessResult> => {
  subscriptions.count++;
  return access$.pipe(
    scan(
      (s, access) => {
        if (access.kind === 'write') {
          const regs = Buffer.from(s.regs);
          access.data.copy(regs, access.offset);
          return { regs, result: { access } as AccessResult };
        }
        return { regs: s.regs, result: { access, data: s.regs.subarray(access.offset, access.offset + access.count) } };
      },
      { regs: Buffer.alloc(8), result: undefined as AccessResult | undefined },
    ),
    map((s) => s.result!),
  );
};

test('an operator answering in the push is answered in place: data, not a stream; subscribed once', async () => {
  const subscriptions = { count: 0 };
  const port = wireHandler(registers(subscriptions), ctx);
  const running = port.run$.subscribe();
  assert.is(port.access(write(1, 0xab)), undefined);
  const data = port.access(read(0, 2));
  assert.not.ok(isObservable(data));
  assert.equal([...(data as Buffer)], [0, 0xab]);
  for (let i = 0; i < 100; i++) port.access(read(i % 8));
  assert.is(subscriptions.count, 1, 'one subscription for the device, none per access');
  running.unsubscribe();
});

test('an access before anything ran the operator connects it, once', () => {
  const subscriptions = { count: 0 };
  const port = wireHandler(registers(subscriptions), ctx);
  port.access(write(0, 7));
  assert.equal([...(port.access(read(0)) as Buffer)], [7]);
  const running = port.run$.subscribe();
  assert.equal([...(port.access(read(0)) as Buffer)], [7], 'the state is kept: run$ joins the same subscription');
  assert.is(subscriptions.count, 1);
  running.unsubscribe();
});

test('an operator answering later gets an Observable, matched by identity, in any order', async () => {
  const port = wireHandler((access$) => access$.pipe(mergeMap((access) => of({ access, data: Buffer.of(access.offset) }).pipe(delay(access.offset === 0 ? 20 : 1)))), ctx);
  const running = port.run$.subscribe();
  const first = port.access(read(0));
  const second = port.access(read(5));
  assert.ok(isObservable(first) && isObservable(second));
  const [a, b] = await Promise.all([lastValueFrom(first as Observable<Buffer>), lastValueFrom(second as Observable<Buffer>)]);
  assert.equal([a[0], b[0]], [0, 5]);
  running.unsubscribe();
});

test('a wrong read length and an error result fail that access only', () => {
  const port = wireHandler(
    (access$) => access$.pipe(map((access): AccessResult => (access.offset === 0 ? { access, data: Buffer.alloc(3) } : { access, error: Object.assign(new Error('nope'), { errno: 5 }) }))),
    ctx,
  );
  const running = port.run$.subscribe();
  assert.throws(() => port.access(read(0, 1)), /returned 3 bytes for a 1-byte read/);
  assert.throws(() => port.access(read(1, 1)), /nope/);
  assert.throws(() => port.access(read(0, 1)), /returned 3 bytes/, 'the port still serves');
  running.unsubscribe();
});

test('when the operator stops, the access in flight and every later one fail with EIO; run$ reports the error', async () => {
  const stop = new Subject<AccessResult>();
  const port = wireHandler(() => stop, ctx);
  let reported: unknown;
  port.run$.subscribe({ error: (e: unknown) => (reported = e) });
  const pending = port.access(read(0)) as Observable<Buffer>;
  const outcome = lastValueFrom(pending).catch((e: unknown) => e);
  stop.error(new Error('handler broke'));
  assert.match(((await outcome) as Error).message, /handler has stopped/);
  assert.is(((await outcome) as { errno: number }).errno, 5);
  assert.match((reported as Error).message, /handler broke/);
  assert.throws(() => port.access(read(0)), /handler has stopped/);
});

test('an operator that throws at once stops the port the same way', () => {
  const port = wireHandler(() => throwError(() => new Error('bad setup')), ctx);
  let reported: unknown;
  port.run$.subscribe({ error: (e: unknown) => (reported = e) });
  assert.match((reported as Error).message, /bad setup/);
  assert.throws(() => port.access(read(0)), /handler has stopped/);
});

test.run();
