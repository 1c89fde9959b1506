import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CommandStatus, GenericStatus, decodeCompletion, decodeSubmission, encodeCompletion, encodeSubmission } from '../../../src/samples/nvme/entries.js';

test('a submission entry: golden bytes both ways (Read, CID 0x1234, NSID 1, PRPs above 4 GiB, SLBA and NLB)', () => {
  const bytes = encodeSubmission({ opcode: 0x02, cid: 0x1234, nsid: 1, prp1: 0x1_2345_6000, prp2: 0x2000, cdw: [0x10, 0, 7, 0, 0, 0] });
  assert.is(
    bytes.toString('hex'),
    '02003412' + '01000000' + '00'.repeat(16) + '0060452301000000' + '0020000000000000' + '10000000' + '00000000' + '07000000' + '00'.repeat(12),
  );
  assert.equal(decodeSubmission(bytes), { opcode: 2, fuse: 0, psdt: 0, cid: 0x1234, nsid: 1, prp1: 0x1_2345_6000, prp2: 0x2000, cdw: [0x10, 0, 7, 0, 0, 0] });
  assert.throws(() => decodeSubmission(Buffer.alloc(63)), /64 bytes/);
});

test('a completion entry: phase tag in bit 16 of DW3, status code and type above it, Do Not Retry at the top', () => {
  const ok = encodeCompletion({ dw0: 0xdead, sqHead: 5, sqId: 1, cid: 0x42, phase: 1, status: { sct: 0, sc: GenericStatus.SUCCESS } });
  assert.is(ok.toString('hex'), 'adde0000' + '00000000' + '05000100' + '42000100');
  const bad = encodeCompletion({ dw0: 0, sqHead: 0, sqId: 0, cid: 7, phase: 0, status: { sct: 1, sc: CommandStatus.INVALID_QUEUE_IDENTIFIER, dnr: true } });
  // status field (bits 31:17): SC 0x01, SCT 1 (bits 10:8 of the field), DNR (bit 14): 0x4101 << 17.
  assert.is(bad.readUInt32LE(12) >>> 0, (7 | (0x4101 << 17)) >>> 0);
  assert.equal(decodeCompletion(bad), { dw0: 0, sqHead: 0, sqId: 0, cid: 7, phase: 0, status: { sc: 1, sct: 1, dnr: true } });
  assert.equal(decodeCompletion(ok).status, { sc: 0, sct: 0, dnr: false });
});

test.run();
