// runDevice: device code lives while the device is served; its failures are reported as events.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Observable, Subject, map, throwError } from 'rxjs';
import type { Connection } from '../../src/wire/connection.js';
import type { Frame } from '../../src/protocol/frame.js';
import { mockConnection } from '../../src/wire/mock.js';
import { defaultLimits, fakeIo, memoryBar, pciDevice, requests, runDevice, type ServerEvent } from '../../src/server/index.js';

const options = () => ({ io: fakeIo(), limits: defaultLimits, timeoutMs: 0 });
const kinds = (events: ServerEvent[]) => events.map((e) => (e.kind === 'device-error' ? `${e.kind}:${e.region ?? '-'}:${(e.error as Error).message}` : e.kind));

test('a failing behaviour and a region handler stream that dies are reported as device-error events', () => {
  const device = pciDevice({
    ids: { vendorId: 1, deviceId: 2, classCode: 0 },
    bars: { 3: memoryBar(16, (access$) => access$.pipe(map(() => { throw new Error('handler broke'); }))) },
    behaviour: () => throwError(() => new Error('behaviour broke')),
  });
  const connections = new Subject<Connection>();
  const events: ServerEvent[] = [];
  const sub = runDevice(device, connections, options()).subscribe((e) => events.push(e));
  const frames = new Subject<Frame>();
  const req = requests();
  connections.next(mockConnection(frames));
  frames.next(req.version());
  frames.next(req.regionRead(3, 0, 4));
  assert.equal(kinds(events), ['device-error:-:behaviour broke', 'connected', 'device-error:3:handler broke']);
  sub.unsubscribe();
});

test('a behaviour runs while the device is served and stops with it', () => {
  let running = false;
  const device = pciDevice({
    ids: { vendorId: 1, deviceId: 2, classCode: 0 },
    behaviour: () =>
      new Observable<never>(() => {
        running = true;
        return () => (running = false);
      }),
  });
  const sub = runDevice(device, new Subject<Connection>(), options()).subscribe();
  assert.ok(running);
  sub.unsubscribe();
  assert.not.ok(running);
});

test('RAM memfds are created when serving starts and released when it stops', () => {
  const io = fakeIo();
  const device = pciDevice({ ids: { vendorId: 1, deviceId: 2, classCode: 0 }, bars: { 0: { kind: 'memory', size: 8192, ram: {} } } });
  const sub = runDevice(device, new Subject<Connection>(), { ...options(), io }).subscribe();
  assert.is(io.openFds().length, 1);
  sub.unsubscribe();
  assert.equal(io.openFds(), []);
});

test.run();
