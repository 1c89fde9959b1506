import { lastValueFrom, of, throwError, type Observable } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GenericStatus } from '../../../src/samples/nvme/entries.js';
import { PrpError, prpSegments } from '../../../src/samples/nvme/prp.js';
import type { GuestMemory } from '../../../src/server/index.js';

const PAGE = 4096;

/** Guest memory of 1 MiB from IOVA 0 that counts its reads. */
const memory = () => {
  const bytes = Buffer.alloc(1 << 20);
  const reads: [number, number][] = [];
  const mem: Pick<GuestMemory, 'read'> = {
    read: (iova, length): Observable<Buffer> => {
      reads.push([iova, length]);
      return iova + length > bytes.length ? throwError(() => new Error('unmapped')) : of(Buffer.from(bytes.subarray(iova, iova + length)));
    },
  };
  const list = (at: number, pages: number[]) => pages.forEach((p, i) => bytes.writeBigUInt64LE(BigInt(p), at + 8 * i));
  return { mem, reads, list };
};

const walk = (m: Pick<GuestMemory, 'read'>, prp1: number, prp2: number, length: number) => lastValueFrom(prpSegments(m, prp1, prp2, length, PAGE));
const status = async (p: Promise<unknown>) => ((await p.catch((e: unknown) => e)) as PrpError).status?.sc;

test('one page: PRP1 alone, with an offset; two pages: PRP2 is the second page; nothing read', async () => {
  const { mem, reads } = memory();
  assert.equal(await walk(mem, 0x10100, 0, 0x200), [{ iova: 0x10100, length: 0x200 }]);
  assert.equal(await walk(mem, 0x10f00, 0x30000, 0x300), [{ iova: 0x10f00, length: 0x100 }, { iova: 0x30000, length: 0x200 }]);
  assert.equal(await walk(mem, 0x11000, 0x12000, 2 * PAGE), [{ iova: 0x11000, length: 2 * PAGE }], 'consecutive pages join');
  assert.equal(await walk(mem, 0x11000, 0, 0), []);
  assert.equal(reads, []);
});

test('a PRP list: PRP2 points at the entries; a list that fills its page chains to the next one', async () => {
  const { mem, reads, list } = memory();
  list(0x40000, [0x50000, 0x70000]);
  assert.equal(await walk(mem, 0x20800, 0x40000, 0x800 + 2 * PAGE - 0x100), [
    { iova: 0x20800, length: 0x800 },
    { iova: 0x50000, length: PAGE },
    { iova: 0x70000, length: PAGE - 0x100 },
  ]);
  assert.equal(reads, [[0x40000, 16]]);
  // A list starting 2 entries before its page end: one data entry, then the chain to the next list page.
  reads.length = 0;
  list(0x40ff0, [0x80000, 0x60000]);
  list(0x60000, [0x90000, 0xa0000]);
  assert.equal(await walk(mem, 0x21000, 0x40ff0, 4 * PAGE), [
    { iova: 0x21000, length: PAGE },
    { iova: 0x80000, length: PAGE },
    { iova: 0x90000, length: PAGE },
    { iova: 0xa0000, length: PAGE },
  ]);
  assert.equal(reads, [[0x40ff0, 16], [0x60000, 16]]);
});

test('misaligned pointers complete with PRP Offset Invalid; an unreadable list errors with the memory error', async () => {
  const { mem, list } = memory();
  assert.is(await status(walk(mem, 0x10002, 0, 16)), GenericStatus.PRP_OFFSET_INVALID);
  assert.is(await status(walk(mem, 0x10000, 0x20010, PAGE + 16)), GenericStatus.PRP_OFFSET_INVALID);
  assert.is(await status(walk(mem, 0x10000, 0x20004, 3 * PAGE)), GenericStatus.PRP_OFFSET_INVALID);
  list(0x40000, [0x50010, 0x60000]);
  assert.is(await status(walk(mem, 0x10000, 0x40000, 3 * PAGE)), GenericStatus.PRP_OFFSET_INVALID);
  const err = await walk(mem, 0x10000, 0x200000, 3 * PAGE).catch((e: unknown) => e);
  assert.match((err as Error).message, /unmapped/);
});

test.run();
