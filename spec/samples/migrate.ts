// Moves a device's state from one test bed to another as a client would: STOP_COPY, MIG_DATA_READ
// until a short reply, then RESUMING, MIG_DATA_WRITE, RUNNING on the destination.
import * as assert from 'uvu/assert';
import { HeaderFlags } from '../../src/protocol/constants.js';
import { DeviceState } from '../../src/protocol/constants.js';
import type { Frame } from '../../src/protocol/frame.js';
import { decodeMigDataReadReply } from '../../src/protocol/migration-data.js';
import type { MockSession, TestBed } from '../../src/server/index.js';

const ok = (reply: Frame, what: string): Frame => {
  assert.not.ok(reply.header.flags & HeaderFlags.ERROR, `${what}: errno ${reply.header.error}`);
  return reply;
};

/** The largest MIG_DATA_WRITE this helper sends. */
export const MIG_WRITE_CHUNK = 64 * 1024;

/** The device data of `source` moved into `dest`, which then runs; returns the bytes moved. */
export const migrateBeds = async (source: { bed: TestBed; session: MockSession }, dest: { bed: TestBed; session: MockSession }): Promise<Buffer> => {
  ok(await source.session.send(source.bed.req.setMigState(DeviceState.STOP_COPY)), 'STOP_COPY');
  const parts: Buffer[] = [];
  for (;;) {
    const reply = decodeMigDataReadReply(ok(await source.session.send(source.bed.req.migDataRead(4096)), 'MIG_DATA_READ').payload);
    parts.push(Buffer.from(reply.data));
    if (reply.size < 4096) break;
  }
  ok(await source.session.send(source.bed.req.setMigState(DeviceState.STOP)), 'STOP');
  const data = Buffer.concat(parts);
  ok(await dest.session.send(dest.bed.req.setMigState(DeviceState.RESUMING)), 'RESUMING');
  // In pieces no bigger than a message may carry, as a client writes them.
  for (let at = 0; at < data.length || at === 0; at += MIG_WRITE_CHUNK) {
    ok(await dest.session.send(dest.bed.req.migDataWrite(data.subarray(at, at + MIG_WRITE_CHUNK))), 'MIG_DATA_WRITE');
    if (data.length === 0) break;
  }
  ok(await dest.session.send(dest.bed.req.setMigState(DeviceState.RUNNING)), 'RUNNING');
  return data;
};
