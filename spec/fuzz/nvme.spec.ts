// A hostile guest against the NVMe controller: random register writes, doorbells of queues that exist
// or not, with values in and out of range, random submission entries (every opcode, wild PRPs and
// lengths), resets at any moment, in both DMA modes. Every access must be answered, nothing thrown,
// and after a DEVICE_RESET the controller must work again as new.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { testBed } from '../../src/server/index.js';
import { decodeRegionReadReply } from '../../src/protocol/region-access.js';
import { nvme, nvmeDevice } from '../../src/samples/index.js';

const { AdminOpcode, NvmeReg, decodeCompletion, doorbellOffset, encodeSubmission } = nvme;

const MEMORY = 0x20000;
const ASQ = 0x1000;
const ACQ = 0x2000;
const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};

type Action =
  | { kind: 'reg'; offset: number; value: number }
  | { kind: 'doorbell'; qid: number; completion: boolean; value: number }
  | { kind: 'entry'; at: number; opcode: number; nsid: number; prp1: number; prp2: number; cdw: [number, number, number, number, number, number] }
  | { kind: 'reset' };

const registerOffsets = Object.values(NvmeReg);
const opcodes = [...Object.values(AdminOpcode), ...Object.values(nvme.IoOpcode), 0x7f, 0xff];
/** Addresses in, at the edge of, and outside guest memory. */
const address = fc.oneof(
  fc.integer({ min: 0, max: MEMORY / 4096 - 1 }).map((p) => p * 4096),
  fc.integer({ min: 0, max: MEMORY }),
  fc.constantFrom(MEMORY - 8, MEMORY, 2 ** 40, 2 ** 52),
);
const dword = fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 300 }), fc.constantFrom(0, 1, 0xffff, 0x10000, 0xffffffff));

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('reg' as const),
      offset: fc.oneof(fc.constantFrom(...registerOffsets), fc.integer({ min: 0, max: 0x3ffc }).map((o) => o & ~3)),
      value: fc.oneof(dword, fc.constantFrom(1 | (6 << 16) | (4 << 20), 0, 0x00070007, 0x00010001, 1 << 14, ASQ, ACQ)),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('doorbell' as const), qid: fc.integer({ min: 0, max: 9 }), completion: fc.boolean(), value: fc.oneof(fc.integer({ min: 0, max: 8 }), dword) }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('entry' as const),
      at: fc.integer({ min: 0, max: MEMORY / 64 - 1 }).map((i) => i * 64),
      opcode: fc.constantFrom(...opcodes),
      nsid: fc.oneof(fc.constantFrom(0, 1, 2, 0xffffffff), dword),
      prp1: address,
      prp2: address,
      cdw: fc.tuple(dword, dword, dword, dword, dword, dword),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'reset' as const }) },
);

const run = async (mode: 'fd' | 'message', actions: readonly Action[]) => {
  const memory = Buffer.alloc(MEMORY);
  const device = nvmeDevice({ size: 1 << 20, queues: 4 });
  const bed = testBed(device, { memory });
  const s = bed.open();
  try {
    await s.send(bed.map(0, MEMORY, mode));
    await s.send(bed.irqs('msix', 0, 5));
    for (const a of actions) {
      const reply =
        a.kind === 'reg'
          ? await s.send(bed.req.regionWrite(0, a.offset, u32(a.value)))
          : a.kind === 'doorbell'
            ? await s.send(bed.req.regionWrite(0, doorbellOffset(a.qid, a.completion), u32(a.value)))
            : a.kind === 'reset'
              ? await s.send(bed.req.reset())
              : (encodeSubmission({ opcode: a.opcode, cid: a.at / 64, nsid: a.nsid, prp1: a.prp1, prp2: a.prp2, cdw: a.cdw }).copy(memory, a.at), undefined);
      if (reply) assert.is(reply.header.error, 0, `${JSON.stringify(a)} was refused`);
    }
    // Whatever happened, a reset brings the controller back as new.
    await s.send(bed.req.reset());
    const csts = decodeRegionReadReply((await s.send(bed.req.regionRead(0, NvmeReg.CSTS, 4))).payload).data!.readUInt32LE(0);
    assert.is(csts, 0);
    memory.fill(0, ASQ, ACQ + 0x100);
    await s.send(bed.req.regionWrite(0, NvmeReg.AQA, u32(0x00030003)));
    await s.send(bed.req.regionWrite(0, NvmeReg.ASQ_LO, u32(ASQ)));
    await s.send(bed.req.regionWrite(0, NvmeReg.ASQ_HI, u32(0)));
    await s.send(bed.req.regionWrite(0, NvmeReg.ACQ_LO, u32(ACQ)));
    await s.send(bed.req.regionWrite(0, NvmeReg.ACQ_HI, u32(0)));
    await s.send(bed.req.regionWrite(0, NvmeReg.CC, u32(1 | (6 << 16) | (4 << 20))));
    encodeSubmission({ opcode: AdminOpcode.KEEP_ALIVE, cid: 4242 }).copy(memory, ASQ);
    await s.send(bed.req.regionWrite(0, doorbellOffset(0, false), u32(1)));
    // Work of the epochs before (commands by message) may still be running: wait for the completion.
    for (let i = 0; i < 100 && decodeCompletion(memory.subarray(ACQ, ACQ + 16)).phase === 0; i++) await new Promise((r) => setTimeout(r, 1));
    const c = decodeCompletion(memory.subarray(ACQ, ACQ + 16));
    assert.equal([c.cid, c.phase, c.status.sc], [4242, 1, 0]);
  } finally {
    s.stop();
    device.close();
  }
};

const NUM_RUNS = Number(process.env['NVME_FUZZ_RUNS'] ?? 60);

for (const mode of ['fd', 'message'] as const) {
  test(`a hostile guest cannot crash or wedge the controller (${mode} mode)`, async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown) => unhandled.push(err);
    process.on('unhandledRejection', onUnhandled);
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 60 }), (actions) => run(mode, actions)),
        { numRuns: NUM_RUNS, seed: Number(process.env['NVME_FUZZ_SEED'] ?? 1414) },
      );
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    assert.equal(unhandled, []);
  });
}

test.run();
