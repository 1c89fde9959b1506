// REGION_WRITE_MULTI: advertised with write_multiple, served as the writes one by one.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Command } from '../../src/protocol/constants.js';
import { Errno } from '../../src/protocol/errno.js';
import { decodeWriteMultiReply } from '../../src/protocol/write-multi.js';
import { map, timer } from 'rxjs';
import { memoryBar, pciDevice, testBed } from '../../src/server/index.js';
import { K, assertErrno, assertOk, openSink } from './fixtures.js';

const entry = (region: number, offset: number, bytes: number[]) => ({ region, offset, count: bytes.length, data: Buffer.from(bytes) });

test('applies every write in order and replies with wr_cnt', async () => {
  const { device, session, req } = openSink();
  const reply = assertOk(await session.send(req.writeMulti([entry(K.IO, 0, [1, 2]), entry(K.MMIO, 8, [3, 4, 5, 6, 7, 8, 9, 10]), entry(K.IO, 1, [0xff])])));
  assert.equal(decodeWriteMultiReply(reply.payload), { wr_cnt: 3 });
  assert.equal([...device.io.subarray(0, 2)], [1, 0xff]);
  assert.equal([...device.mmio.subarray(8, 16)], [3, 4, 5, 6, 7, 8, 9, 10]);
  session.stop();
});

test('a write that fails stops the rest and fails the command with its errno; earlier writes stay', async () => {
  const { device, session, req } = openSink();
  assertErrno(await session.send(req.writeMulti([entry(K.IO, 0, [7]), entry(K.IO, 20, [1]), entry(K.IO, 1, [8])])), Errno.EINVAL);
  assert.equal([...device.io.subarray(0, 2)], [7, 0]);
  assertOk(await session.send(req.deviceInfo()));
  session.stop();
});

test('wr_cnt that disagrees with the payload is EINVAL; more than 200 entries is E2BIG', async () => {
  const { session, req } = openSink();
  const payload = Buffer.alloc(8 + 24);
  payload.writeBigUInt64LE(2n);
  assertErrno(await session.send(req.frame(Command.REGION_WRITE_MULTI, payload)), Errno.EINVAL);
  const big = Buffer.alloc(8);
  big.writeBigUInt64LE(201n);
  assertErrno(await session.send(req.frame(Command.REGION_WRITE_MULTI, big)), Errno.E2BIG);
  session.stop();
});

test('sent with No_reply, as QEMU does, it is still applied before the next command', async () => {
  const { device, session, req } = openSink();
  session.post(req.writeMulti([entry(K.MMIO, 0, [9, 9, 9, 9])], { noReply: true }));
  assertOk(await session.send(req.deviceInfo()));
  assert.is(device.mmio.readUInt32LE(0), 0x09090909);
  session.stop();
});

test('entries whose handler answers later and entries answered at once are applied in entry order', async () => {
  const applied: string[] = [];
  const device = pciDevice({
    ids: { vendorId: 1, deviceId: 2, classCode: 0 },
    bars: {
      0: memoryBar(4096, {
        write: (offset, data) => {
          const note = () => void applied.push(`${offset}:${data[0]}`);
          // Offset 0 answers on a later turn; the others at once.
          return offset === 0 ? timer(2).pipe(map(note)) : note();
        },
      }),
    },
  });
  const bed = testBed(device);
  const session = bed.open();
  const reply = assertOk(
    await session.send(bed.req.writeMulti([entry(0, 4, [1]), entry(0, 0, [2]), entry(0, 8, [3]), entry(0, 0, [4]), entry(0, 12, [5])])),
  );
  assert.is(decodeWriteMultiReply(reply.payload).wr_cnt, 5);
  assert.equal(applied, ['4:1', '0:2', '8:3', '0:4', '12:5']);
  session.stop();
});

test.run();
