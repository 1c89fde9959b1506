// DMA_READ by message: the data a client owes us at once stays within the read window and each read
// within the read chunk (ServerLimits.dmaReadWindow, dmaReadChunk) (QEMU 11.1.3 takes a short write of a reply for the whole one, so the replies it
// owes must fit its socket buffer), chunks asked in order, a large read's chunks overlapping, the
// room given back on a reply, an error or an unsubscribe.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Observable, Subject, lastValueFrom } from 'rxjs';
import { Command } from '../../src/protocol/constants.js';
import { decodeDmaReadRequest, encodeDmaReadReply } from '../../src/protocol/dma-access.js';
import { parseCapabilities } from '../../src/protocol/capabilities.js';
import type { Frame } from '../../src/protocol/frame.js';
import { readByMessageInto } from '../../src/server/dma-messages.js';
import { defaultLimits } from '../../src/server/state.js';

const READ_WINDOW = defaultLimits.dmaReadWindow;
const READ_CHUNK = defaultLimits.dmaReadChunk;
import type { SessionLink } from '../../src/server/state.js';
import type { Endpoint } from '../../src/wire/endpoint.js';

interface Asked {
  readonly address: number;
  readonly count: number;
  readonly reply$: Subject<Frame>;
  /** Answered, failed, or given up by the reader. */
  done: boolean;
}

/** A client whose DMA_READ replies the test gives (or fails) by hand; `asked` holds the open requests. */
const client = (maxXfer = 1 << 20) => {
  const asked: Asked[] = [];
  const dma = {
    request: (command: number, payload: Buffer) => {
      assert.is(command, Command.DMA_READ);
      const { address, count } = decodeDmaReadRequest(payload);
      const reply$ = new Subject<Frame>();
      const entry: Asked = { address, count, reply$, done: false };
      asked.push(entry);
      return new Observable<Frame>((subscriber) => {
        const sub = reply$.subscribe(subscriber);
        return () => {
          entry.done = true;
          sub.unsubscribe();
        };
      });
    },
  } as unknown as Endpoint;
  const link: SessionLink = {
    endpoint: dma,
    dma,
    client: parseCapabilities({ capabilities: { max_data_xfer_size: maxXfer } }),
    twin: false,
    reads: { window: READ_WINDOW, chunk: READ_CHUNK },
  };
  const owed = () => asked.reduce((n, a) => n + (a.done ? 0 : a.count), 0);
  const answer = (a: Asked) => {
    a.done = true;
    a.reply$.next({ header: { id: 0, command: Command.DMA_READ, size: 0, flags: 1, error: 0 }, payload: encodeDmaReadReply({ address: a.address, data: Buffer.alloc(a.count, a.address & 0xff) }), fds: [] });
    a.reply$.complete();
  };
  return { link, asked, owed, answer };
};

const open = (asked: readonly Asked[]) => asked.filter((a) => !a.done);

test('one read larger than the window goes in READ_CHUNK pieces, as many at once as the window holds, in order', async () => {
  const c = client();
  const target = Buffer.alloc(3 * READ_WINDOW);
  const done = lastValueFrom(readByMessageInto(c.link, 0x100000, target.length, target, 0));
  const together = READ_WINDOW / READ_CHUNK;
  assert.ok(together >= 2, 'a large read overlaps its round trips');
  while (open(c.asked).length > 0) {
    assert.ok(open(c.asked).length <= together);
    assert.ok(c.owed() <= READ_WINDOW, `owed ${c.owed()}`);
    c.answer(open(c.asked)[0]!);
  }
  await done;
  const chunks = (3 * READ_WINDOW) / READ_CHUNK;
  assert.equal(
    c.asked.map((x) => [x.address, x.count]),
    Array.from({ length: chunks }, (_, i) => [0x100000 + i * READ_CHUNK, READ_CHUNK]),
  );
  assert.ok(target.subarray(0, READ_CHUNK).equals(Buffer.alloc(READ_CHUNK, 0x100000 & 0xff)));
});

test('reads in flight together never owe more than the window; waiting ones start in order as replies come', async () => {
  const c = client();
  const targets = [0, 1, 2, 3, 4, 5].map(() => Buffer.alloc(READ_CHUNK + 4096));
  const done = Promise.all(targets.map((t, i) => lastValueFrom(readByMessageInto(c.link, 0x100000 * (i + 1), t.length, t, 0))));
  let most = 0;
  while (open(c.asked).length > 0) {
    most = Math.max(most, c.owed());
    assert.ok(c.owed() <= READ_WINDOW, `owed ${c.owed()}`);
    c.answer(open(c.asked)[0]!);
  }
  await done;
  assert.ok(most > READ_CHUNK, 'more than one chunk in flight at a time');
  // Each read is a full chunk and a 4 KiB one; the reads are asked for in the order they came.
  assert.is(c.asked.length, 12);
  const firsts = c.asked.filter((x) => x.count === READ_CHUNK).map((x) => x.address);
  assert.equal(firsts, [1, 2, 3, 4, 5, 6].map((i) => 0x100000 * i));
});

test('small reads share the window: as many at once as fit in READ_WINDOW bytes', async () => {
  const c = client();
  const size = READ_WINDOW / 4;
  const done = Promise.all([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => lastValueFrom(readByMessageInto(c.link, size * i, size, Buffer.alloc(size), 0))));
  assert.is(open(c.asked).length, 4);
  c.answer(open(c.asked)[1]!);
  assert.is(open(c.asked).length, 4, 'a reply makes room for the next');
  while (open(c.asked).length > 0) c.answer(open(c.asked)[0]!);
  await done;
  assert.is(c.asked.length, 10);
});

test('a client with a smaller max_data_xfer_size keeps its own chunk size', async () => {
  const c = client(4096);
  const target = Buffer.alloc(10000);
  const done = lastValueFrom(readByMessageInto(c.link, 0x1800, target.length, target, 0));
  while (open(c.asked).length > 0) c.answer(open(c.asked)[0]!);
  await done;
  assert.equal(c.asked.map((a) => a.count), [4096, 4096, 10000 - 8192]);
});

test('an error or an unsubscribe gives the room back, and a waiting read behind it starts', async () => {
  const c = client();
  const a = readByMessageInto(c.link, 0x1000, READ_WINDOW, Buffer.alloc(READ_WINDOW), 0).subscribe({ error: () => undefined });
  const b = Buffer.alloc(READ_WINDOW);
  const bDone = lastValueFrom(readByMessageInto(c.link, 0x900000, READ_WINDOW, b, 0));
  const cSub = readByMessageInto(c.link, 0x800000, 4096, Buffer.alloc(4096), 0).subscribe();
  assert.equal(open(c.asked).map((x) => x.address), [0x1000, 0x1000 + READ_CHUNK], 'a fills the window; b and c wait behind it');
  const first = open(c.asked)[0]!;
  first.done = true;
  first.reply$.error(new Error('gone'));
  assert.equal(open(c.asked).map((x) => x.address), [0x900000, 0x900000 + READ_CHUNK], 'a failed (its other chunk given up): b starts; c still waits');
  cSub.unsubscribe();
  while (open(c.asked).length > 0) c.answer(open(c.asked)[0]!);
  await bDone;
  assert.ok(b.equals(Buffer.alloc(READ_WINDOW, 0)));
  assert.is(c.asked.length, 4, 'c, unsubscribed while waiting, never asked');
  assert.is(c.owed(), 0);
  a.unsubscribe();
  // The window is whole again: a full-window read starts at once.
  const d = readByMessageInto(c.link, 0x1000, READ_WINDOW, Buffer.alloc(READ_WINDOW), 0).subscribe();
  assert.is(open(c.asked).length, READ_WINDOW / READ_CHUNK);
  d.unsubscribe();
});

test('a server given a larger window and chunk (a client that writes replies whole) reads 1 MiB in one request', async () => {
  const c = client();
  const link = { ...c.link, reads: { window: 1 << 20, chunk: 1 << 20 } };
  const target = Buffer.alloc(1 << 20);
  const done = lastValueFrom(readByMessageInto(link, 0x200000, target.length, target, 0));
  assert.equal(open(c.asked).map((x) => x.count), [1 << 20]);
  c.answer(open(c.asked)[0]!);
  await done;
});

test.run();
