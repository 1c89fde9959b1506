// Queues in guest memory: a submission ring the device consumes on a tail doorbell, a completion
// ring it produces into with NVMe's phase tag; through the fd mapping and by DMA messages alike.
import { lastValueFrom } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { consume, entryAddress, phaseTag, produce, ring, ringCount, ringFull, ringHead, ringTail } from '../../src/server/index.js';
import { assertOk, openSink } from './fixtures.js';

const SQ = 0x1000;
const CQ = 0x3000;

for (const mode of ['fd', 'message'] as const) {
  test(`a submission ring wrapping around, read in two runs; a completion ring with phase tags (${mode})`, async () => {
    const memory = Buffer.alloc(0x10000);
    const s = openSink({ memory });
    assertOk(await s.session.send(s.bed.map(0, 0x10000, mode)));
    const dma = s.ctx().dma;
    // The driver put 3 entries of 16 bytes at slots 2, 3 and 0 (it had consumed up to 2 before).
    let sq = ringTail(ringHead(ringTail(ring({ base: SQ, entries: 4, entrySize: 16 }), 2), 2), 2);
    for (const [slot, tag] of [[2, 'a'], [3, 'b'], [0, 'c']] as const) memory.fill(tag, entryAddress(sq, slot), entryAddress(sq, slot) + 16);
    sq = ringTail(sq, 1);
    assert.is(ringCount(sq), 3);
    const { ring: after, entries } = await lastValueFrom(consume(dma, sq));
    assert.equal(entries.map((e) => e.toString('latin1', 0, 1)), ['a', 'b', 'c']);
    assert.equal([after.head, ringCount(after)], [1, 0]);
    assert.equal((await lastValueFrom(consume(dma, after))).entries, [], 'nothing between head and tail');

    let cq = ring({ base: CQ, entries: 2, entrySize: 4 });
    assert.is(phaseTag(cq), 1);
    cq = await lastValueFrom(produce(dma, cq, Buffer.from([1, 0, 0, phaseTag(cq)])));
    assert.ok(ringFull(cq), 'a ring of 2 holds 1');
    const refused = await lastValueFrom(produce(dma, cq, Buffer.alloc(4))).catch((e: unknown) => e);
    assert.instance(refused, RangeError);
    cq = ringHead(cq, 1); // the driver consumed it
    cq = await lastValueFrom(produce(dma, cq, Buffer.from([2, 0, 0, phaseTag(cq)])));
    assert.equal([cq.tail, cq.wraps, phaseTag(cq)], [0, 1, 0], 'wrapped: the next pass has phase 0');
    assert.equal([...memory.subarray(CQ, CQ + 8)], [1, 0, 0, 1, 2, 0, 0, 1]);
    s.session.stop();
  });
}

test('doorbells outside the ring and bad layouts are refused', () => {
  const r = ring({ base: 0, entries: 8, entrySize: 64 });
  assert.throws(() => ringTail(r, 8), /outside a ring of 8/);
  assert.throws(() => ringHead(r, -1), /outside/);
  assert.throws(() => ring({ base: 0, entries: 1, entrySize: 64 }), /at least 2 entries/);
});

test.run();
