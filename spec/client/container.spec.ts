import { Subject, map, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_DMA_IN_FLIGHT, container, type ContainerOptions, type DmaCommit } from '../../src/client/container.js';
import { endpoint } from '../../src/wire/endpoint.js';
import * as p from '../../src/protocol/index.js';
import type { Frame } from '../../src/protocol/frame.js';
import type { MemoryChange, MemorySection } from '../../src/streams/memory.js';
import { joinPayload, mockConnection, replyFrame } from '../../src/wire/mock.js';

const { Command, DmaMapFlags, DmaUnmapFlags } = p;
const scheduler = () => new TestScheduler((actual, expected) => assert.equal(actual, expected));
const section = (id: number, iova: number, readonly = false): MemorySection => ({
  id,
  iova,
  size: 0x1000,
  readonly,
  fd: 40 + id,
  fdOffset: 0,
  buffer: Buffer.alloc(0x1000),
});
const s1 = section(1, 0);
const s2 = section(2, 0x1000, true);
const changes: Record<string, MemoryChange> = {
  b: { type: 'begin' },
  c: { type: 'commit' },
  a: { type: 'add', section: s1 },
  d: { type: 'add', section: s2 },
  r: { type: 'remove', section: s1 },
};
const ok = (id: number, command: number = Command.DMA_MAP) => replyFrame(id, command);
const fail = (id: number, errno: number) => replyFrame(id, Command.DMA_MAP, Buffer.alloc(0), errno);
const options: ContainerOptions = { limits: { maxDmaMaps: 65535, pgsizes: 4096 }, mode: 'fd' };

const setup = (frames$: Observable<Frame>, changes$: Observable<MemoryChange>, ts: TestScheduler, o = options) => {
  const conn = mockConnection(frames$);
  const ep = endpoint(conn, { timeoutMs: 5000, scheduler: ts, closeFd: () => undefined });
  const c = container({ endpoint: ep, closeFd: () => undefined }, changes$, o);
  const sent$ = conn.sent$.pipe(map((m) => `${p.commandName(m.command)}#${m.id}`));
  return { conn, c, sent$ };
};

test('a transaction\'s maps are sent together at commit, and the commit waits for the last reply', () => {
  const ts = scheduler();
  ts.run(({ hot, expectObservable }) => {
    const changes$ = hot('-b-a-d-c-------', changes);
    const frames$ = hot(' ---------x--y--', { x: ok(0), y: ok(1) });
    const { c, sent$ } = setup(frames$, changes$, ts);
    expectObservable(sent$).toBe('-------(xy)-----', { x: 'DMA_MAP#0', y: 'DMA_MAP#1' });
    expectObservable(c.commits$.pipe(map((k) => `${k.seq}:${k.ops.length}:${k.errors.length}`))).toBe('------------k--', { k: '1:2:0' });
    expectObservable(c.table$.pipe(map((t) => t.valuesArray().map((m) => m.sectionId).join(',')))).toBe('t------u-------', { t: '', u: '1,2' });
  });
});

test('settled$ waits for the latest transaction at the time it is subscribed', () => {
  const ts = scheduler();
  ts.run(({ hot, expectObservable }) => {
    const changes$ = hot('-b-a-c-b-d-c--------', changes);
    const frames$ = hot(' ---------x-----y----', { x: ok(0), y: ok(1) });
    const { c } = setup(frames$, changes$, ts);
    expectObservable(c.settled$().pipe(map((k) => k.seq)), '------^').toBe('---------(a|)', { a: 1 });
    expectObservable(c.settled$().pipe(map((k) => k.seq)), '------------^').toBe('---------------(b|)', { b: 2 });
    expectObservable(c.settled$().pipe(map((k) => k.seq)), '^').toBe('(z|)', { z: 0 });
  });
});

test('errors of any request are reported at commit, and settled$ fails with the first', () => {
  const ts = scheduler();
  ts.run(({ hot, expectObservable }) => {
    const changes$ = hot('-b-a-d-c--------', changes);
    const frames$ = hot(' ---------x--y---', { x: fail(0, p.Errno.EEXIST), y: fail(1, p.Errno.ENOSPC) });
    const { c } = setup(frames$, changes$, ts);
    expectObservable(c.commits$.pipe(map((k) => k.errors.map((e) => (e as p.RemoteError).errnoName).join()))).toBe('------------k---', {
      k: 'EEXIST,ENOSPC',
    });
    expectObservable(c.settled$(), '--------^').toBe('------------#', undefined, new p.RemoteError('DMA_MAP', p.Errno.EEXIST));
  });
});

test('fd mode sends the memfd and its offset; message mode sends no fd; read-only maps without WRITE', () => {
  for (const mode of ['fd', 'message'] as const) {
    const ts = scheduler();
    ts.run(({ hot }) => {
      const { conn } = setup(hot('---------', {}), hot('-b-a-d-c-', changes), ts, { ...options, mode });
      ts.flush();
      const maps = conn.sent.map((m) => ({ req: p.decodeDmaMapRequest(joinPayload(m.payload)), fds: m.fds ?? [] }));
      assert.equal(
        maps.map((m) => [m.req.address, m.req.size, m.req.flags, m.req.offset, m.fds]),
        [
          [0, 0x1000, DmaMapFlags.READ | DmaMapFlags.WRITE, 0, mode === 'fd' ? [41] : []],
          [0x1000, 0x1000, DmaMapFlags.READ, 0, mode === 'fd' ? [42] : []],
        ],
      );
    });
  }
});

test('a removed section is unmapped with its exact address and size', () => {
  const ts = scheduler();
  ts.run(({ hot, expectObservable }) => {
    const changes$ = hot('-b-a-c-b-r-c---', changes);
    const unmapped = Buffer.from(p.encodeDmaUnmapReply({ argsz: 24, flags: 0, address: 0, size: 0x1000 }));
    const frames$ = hot(' ------x-----y--', { x: ok(0), y: replyFrame(1, Command.DMA_UNMAP, unmapped) });
    const { c, conn } = setup(frames$, changes$, ts);
    expectObservable(c.commits$.pipe(map((k) => `${k.ops.map((o) => o.kind)}:${k.errors.length}`))).toBe('------a-----b--', { a: 'map:0', b: 'unmap:0' });
    ts.flush();
    assert.equal(p.decodeDmaUnmapRequest(joinPayload(conn.sent[1]!.payload)), { argsz: 24, flags: 0, address: 0, size: 0x1000 });
  });
});

test('limits refuse before sending: the rejected add is reported at commit and never sent', () => {
  const ts = scheduler();
  ts.run(({ hot, expectObservable }) => {
    const changes$ = hot('-b-a-d-c-----', changes);
    const frames$ = hot(' ---------x---', { x: ok(0) });
    const { c, sent$ } = setup(frames$, changes$, ts, { ...options, limits: { maxDmaMaps: 1, pgsizes: 4096 } });
    expectObservable(sent$).toBe('-------x-----', { x: 'DMA_MAP#0' });
    expectObservable(c.commits$.pipe(map((k) => k.errors.map((e) => e.constructor.name).join()))).toBe('---------k---', { k: 'LimitError' });
  });
});

test('close$ stops following memory and unmaps everything with flag ALL', () => {
  const ts = scheduler();
  ts.run(({ hot, expectObservable }) => {
    const changes$ = hot('-b-a-c------b-d-c', changes);
    const all = p.encodeDmaUnmapReply({ argsz: 24, flags: DmaUnmapFlags.ALL, address: 0, size: 0 });
    const frames$ = hot(' -----x-----u-----', { x: ok(0), u: replyFrame(1, Command.DMA_UNMAP, Buffer.from(all)) });
    const { c, sent$, conn } = setup(frames$, changes$, ts);
    expectObservable(sent$).toBe('-----x---u-------', { x: 'DMA_MAP#0', u: 'DMA_UNMAP#1' });
    expectObservable(c.close$(), '---------^').toBe('-----------|');
    ts.flush();
    assert.equal(p.decodeDmaUnmapRequest(joinPayload(conn.sent[1]!.payload)), { argsz: 24, flags: DmaUnmapFlags.ALL, address: 0, size: 0 });
  });
});

test('close$ sends nothing when nothing is mapped', () => {
  const ts = scheduler();
  ts.run(({ hot, expectObservable }) => {
    const { c, sent$ } = setup(hot('------'), hot('------'), ts);
    expectObservable(c.close$()).toBe('|');
    expectObservable(sent$).toBe('------');
  });
});

test('a transaction larger than the id space goes out MAX_DMA_IN_FLIGHT at a time, in order, every error reported', () => {
  const count = 70_000; // more than the 65,536 message ids
  const sections = Array.from({ length: count }, (_, i) => section(i, i * 0x1000));
  const replies = new Subject<Frame>();
  const conn = mockConnection(replies);
  const ep = endpoint(conn, { timeoutMs: 0, closeFd: () => undefined });
  const changes = new Subject<MemoryChange>();
  const c = container({ endpoint: ep, closeFd: () => undefined }, changes, { ...options, limits: { maxDmaMaps: count, pgsizes: 4096 } });
  const sent: p.OutgoingMessage[] = [];
  let mostInFlight = 0;
  conn.sent$.subscribe((m) => {
    sent.push(m);
    mostInFlight = Math.max(mostInFlight, ep.stats.pending);
  });
  const commits: DmaCommit[] = [];
  c.commits$.subscribe((k) => commits.push(k));
  changes.next({ type: 'begin' });
  for (const s of sections) changes.next({ type: 'add', section: s });
  changes.next({ type: 'commit' });
  assert.is(sent.length, MAX_DMA_IN_FLIGHT, 'the first window is out; the rest wait for replies');
  // The fake server answers in order; one request fails.
  for (let answered = 0; answered < count; answered++) {
    const m = sent[answered]!;
    replies.next(answered === 66_000 ? replyFrame(m.id, Command.DMA_MAP, Buffer.alloc(0), p.Errno.ENOMEM) : ok(m.id));
  }
  assert.is(sent.length, count);
  assert.equal(
    sent.slice(0, 3).map((m) => p.decodeDmaMapRequest(joinPayload(m.payload)).address),
    [0, 0x1000, 0x2000],
  );
  assert.is(p.decodeDmaMapRequest(joinPayload(sent[count - 1]!.payload)).address, (count - 1) * 0x1000, 'sent in operation order');
  assert.ok(mostInFlight <= MAX_DMA_IN_FLIGHT);
  assert.is(commits.length, 1);
  assert.is(commits[0]!.errors.length, 1);
  assert.instance(commits[0]!.errors[0], p.RemoteError);
  c.stop();
});

test.run();
