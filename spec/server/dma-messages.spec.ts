// DMA_READ by message: the data a client owes us at once stays within READ_WINDOW (QEMU 11.1.3
// takes a short write of a reply for the whole one, so the replies it owes must fit its socket
// buffer), chunks in order, the room given back on a reply, an error or an unsubscribe.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Observable, Subject, lastValueFrom } from 'rxjs';
import { Command } from '../../src/protocol/constants.js';
import { decodeDmaReadRequest, encodeDmaReadReply } from '../../src/protocol/dma-access.js';
import { parseCapabilities } from '../../src/protocol/capabilities.js';
import type { Frame } from '../../src/protocol/frame.js';
import { READ_WINDOW, readByMessageInto } from '../../src/server/dma-messages.js';
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

test('one read larger than the window goes in window-sized chunks, one at a time', async () => {
  const c = client();
  const target = Buffer.alloc(3 * READ_WINDOW);
  const done = lastValueFrom(readByMessageInto(c.link, 0x100000, target.length, target, 0));
  for (let i = 0; i < 3; i++) {
    assert.is(open(c.asked).length, 1);
    assert.equal(c.owed(), READ_WINDOW);
    c.answer(open(c.asked)[0]!);
  }
  await done;
  assert.equal(c.asked.map((a) => a.address), [0x100000, 0x100000 + READ_WINDOW, 0x100000 + 2 * READ_WINDOW]);
});

test('reads in flight together never owe more than the window; waiting ones start in order as replies come', async () => {
  const c = client();
  const targets = [0, 1, 2, 3, 4, 5].map(() => Buffer.alloc(READ_WINDOW / 2 + 4096));
  const done = Promise.all(targets.map((t, i) => lastValueFrom(readByMessageInto(c.link, 0x10000 * (i + 1), t.length, t, 0))));
  let most = 0;
  while (open(c.asked).length > 0) {
    most = Math.max(most, c.owed());
    assert.ok(c.owed() <= READ_WINDOW, `owed ${c.owed()}`);
    c.answer(open(c.asked)[0]!);
  }
  await done;
  assert.ok(most > 0);
  // Each 36 KiB read is one chunk, and two never fit at once: served one by one, in order.
  assert.is(c.asked.length, 6);
  assert.equal(c.asked.map((a) => a.address), [1, 2, 3, 4, 5, 6].map((i) => 0x10000 * i));
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
  assert.is(open(c.asked).length, 1, 'b and c wait behind a');
  const first = open(c.asked)[0]!;
  first.done = true;
  first.reply$.error(new Error('gone'));
  assert.equal(open(c.asked).map((x) => x.address), [0x900000], 'b starts once a failed; c still waits');
  cSub.unsubscribe();
  c.answer(open(c.asked)[0]!);
  await bDone;
  assert.ok(b.equals(Buffer.alloc(READ_WINDOW, 0)));
  assert.is(c.asked.length, 2, 'c, unsubscribed while waiting, never asked');
  assert.is(c.owed(), 0);
  a.unsubscribe();
  // The window is whole again: a full-window read starts at once.
  const d = readByMessageInto(c.link, 0x1000, READ_WINDOW, Buffer.alloc(READ_WINDOW), 0).subscribe();
  assert.is(open(c.asked).length, 1);
  d.unsubscribe();
});

test.run();
