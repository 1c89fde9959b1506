/**
 * Fuzzing the client: a hostile scripted server on the other end of a socketpair answers every
 * request as a fake device would, then spoils the answer as the case says (bits flipped, sizes and
 * ids that lie, error replies, replies dropped, doubled, split or cut, fds of every kind attached,
 * unsolicited DMA requests, BAR memfds shrunk after they are sent, the socket closed). The client
 * realizes the device, does a few accesses, enables interrupts, resets and closes. Every failure it
 * reports must be one of its typed errors; nothing may hang, leak an fd or go unhandled.
 */
import { ftruncateSync } from 'node:fs';
import fc from 'fast-check';
import { guestMemory, openDevice, type Device } from '../../src/client/index.js';
import { native, type Channel } from '../../src/native/index.js';
import { Command, HeaderFlags, MessageType, RegionFlags } from '../../src/protocol/constants.js';
import { decodeHeader } from '../../src/protocol/header.js';
import type { Frame } from '../../src/protocol/frame.js';
import { defaultRegions, fakeDevice } from '../client/fixtures/fake-device.js';
import { openFds } from '../fixtures/fds.js';
import { settledFds, tick, within } from './server-fuzz.js';
import { header, pieces, type FdKind } from './frames.js';

/** How the hostile server spoils one reply. */
export type Spoil =
  | { readonly kind: 'none' | 'drop' | 'twice' | 'close' | 'shrink' }
  | { readonly kind: 'flip'; readonly at: number; readonly bit: number }
  | { readonly kind: 'size'; readonly size: number }
  | { readonly kind: 'id' | 'command'; readonly value: number }
  | { readonly kind: 'errno'; readonly errno: number }
  | { readonly kind: 'cut'; readonly keep: number }
  | { readonly kind: 'split'; readonly cuts: readonly number[] }
  | { readonly kind: 'fds'; readonly fds: readonly FdKind[] }
  | { readonly kind: 'unsolicited'; readonly command: number; readonly address: bigint; readonly count: bigint };

const spoil: fc.Arbitrary<Spoil> = fc.oneof(
  { weight: 12, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 1, arbitrary: fc.constantFrom({ kind: 'drop' as const }, { kind: 'twice' as const }, { kind: 'close' as const }, { kind: 'shrink' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.nat(120), bit: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('size' as const), size: fc.oneof(fc.nat(64), fc.integer({ min: 0, max: 0xffffffff })) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('id' as const, 'command' as const), value: fc.nat(0xffff) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('errno' as const), errno: fc.oneof(fc.nat(140), fc.constant(0xffffffff)) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cut' as const), keep: fc.nat(60) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('split' as const), cuts: fc.array(fc.nat(80), { maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('fds' as const), fds: fc.array(fc.constantFrom<FdKind>('eventfd', 'memfd', 'memfd-small'), { minLength: 1, maxLength: 3 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('unsolicited' as const),
      command: fc.oneof(fc.constantFrom(Command.DMA_READ, Command.DMA_WRITE), fc.nat(20)),
      address: fc.oneof(fc.bigInt({ min: 0n, max: 0x20000n }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })),
      count: fc.oneof(fc.bigInt({ min: 0n, max: 0x2000n }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })),
    }),
  },
);

/** A hostile server's plan: how it spoils its n-th reply (cycling), and how the client is set up. */
export interface ServerPlan {
  readonly spoils: readonly Spoil[];
  readonly dmaMode: 'fd' | 'message';
  readonly mappableBar: boolean;
}

export const serverPlan: fc.Arbitrary<ServerPlan> = fc.record({
  spoils: fc.array(spoil, { minLength: 1, maxLength: 40 }),
  dmaMode: fc.constantFrom<'fd' | 'message'>('fd', 'message'),
  mappableBar: fc.boolean(),
});


/** The hostile server on one end of a socketpair: answers as the fake device would, spoiled as planned. */
const hostileServer = (channel: Channel, plan: ServerPlan) => {
  const bar = native.memfd('fuzz-bar', 0x2000, { sealed: false });
  const regions = defaultRegions();
  if (plan.mappableBar) {
    regions[0] = { info: { index: 0, size: 0x2000, flags: RegionFlags.READ | RegionFlags.WRITE | RegionFlags.MMAP, offset: 0 }, fd: () => native.dup(bar) };
  }
  const device = fakeDevice({ regions });
  let n = 0;
  let buffered = Buffer.alloc(0);
  let carried: number[] = [];
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    channel.close();
  };
  const send = (chunks: readonly Buffer[], fds: readonly number[] = []) => {
    if (closed) return;
    try {
      chunks.forEach((c, i) => channel.send([c], i === 0 ? fds : undefined));
    } catch {
      close();
    }
  };
  const makeFds = (kinds: readonly FdKind[]) =>
    kinds.map((k) => (k === 'eventfd' ? native.eventfd(0) : native.memfd('fuzz-extra', k === 'memfd' ? 0x2000 : 0x10)));
  const answer = async (frame: Frame) => {
    const a = device.answer(frame);
    frame.fds.forEach(native.close);
    const s = plan.spoils[n++ % plan.spoils.length]!;
    const fds = [...(a?.fds ?? []), ...(s.kind === 'fds' ? makeFds(s.fds) : [])];
    try {
      if (!a || s.kind === 'drop') return;
      if (s.kind === 'close') return close();
      if (s.kind === 'unsolicited') {
        const body = Buffer.alloc(16);
        body.writeBigUInt64LE(s.address, 0);
        body.writeBigUInt64LE(s.count, 8);
        send([Buffer.concat([header(0x7777, s.command, 32, MessageType.COMMAND, 0), body])]);
      }
      const error = s.kind === 'errno' ? s.errno : a.errno;
      const payload = error !== undefined ? Buffer.alloc(0) : (a.payload ?? Buffer.alloc(0));
      const flags = MessageType.REPLY | (error !== undefined ? HeaderFlags.ERROR : 0);
      const id = s.kind === 'id' ? s.value : frame.header.id;
      const command = s.kind === 'command' ? s.value : frame.header.command;
      const size = s.kind === 'size' ? s.size : 16 + payload.length;
      const bytes = Buffer.concat([header(id, command, size, flags, error ?? 0), payload]);
      if (s.kind === 'flip' && s.at < bytes.length) bytes[s.at]! ^= 1 << s.bit;
      if (s.kind === 'cut') {
        send([bytes.subarray(0, Math.min(s.keep, bytes.length))], fds);
        return close();
      }
      if (s.kind === 'split') {
        for (const [i, part] of pieces(bytes, s.cuts).entries()) {
          send([part], i === 0 ? fds : []);
          await tick();
        }
        return;
      }
      send([bytes], fds);
      if (s.kind === 'twice') send([bytes]);
      if (s.kind === 'shrink') ftruncateSync(bar, 0x800);
    } finally {
      fds.forEach(native.close);
    }
  };
  // The client is honest: whole messages, fds with the first byte of the message they belong to.
  channel.start({
    data: (bytes, fds) => {
      buffered = Buffer.concat([buffered, bytes]);
      carried.push(...fds);
      while (buffered.length >= 16 && buffered.length >= buffered.readUInt32LE(4)) {
        const h = decodeHeader(buffered, 0);
        const frame: Frame = { header: h, payload: Buffer.from(buffered.subarray(16, h.size)), fds: carried };
        carried = [];
        buffered = buffered.subarray(h.size);
        if ((h.flags & HeaderFlags.TYPE_MASK) === MessageType.REPLY) {
          frame.fds.forEach(native.close);
          continue;
        }
        if (h.flags & HeaderFlags.NO_REPLY) {
          device.answer(frame);
          frame.fds.forEach(native.close);
          continue;
        }
        void answer(frame);
      }
    },
    end: close,
    error: close,
  });
  return {
    close: () => {
      close();
      carried.forEach(native.close);
      native.close(bar);
    },
  };
};

/** Whether an error is one the client documents: a VfioUserError with its stable code. */
export const isTyped = (err: unknown): boolean => typeof (err as { code?: unknown })?.code === 'string' && (err as { code: string }).code.startsWith('ERR_VFIO_USER_');

/** What the client does with a device it realized: accesses, interrupts, a reset. */
const use = async (dev: Device, untyped: unknown[]): Promise<void> => {
  const attempt = async (fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      if (!isTyped(err)) untyped.push(err);
    }
  };
  for (const r of dev.regions.filter((x) => x.size > 0 && x.index !== 7).slice(0, 3)) {
    const count = Math.min(r.size, 8);
    if (r.flags & RegionFlags.READ) await attempt(() => dev.region(r.index).read(0, count));
    if (r.flags & RegionFlags.WRITE) await attempt(() => dev.region(r.index).write(0, Buffer.alloc(count, 0x5a), { posted: false }));
  }
  await attempt(() => dev.region(7).read(0, 4));
  if (dev.irqs[2]?.count) await attempt(() => dev.enableInterrupts('msix', 1));
  await attempt(() => dev.reset());
};

/** How cases ended, by outcome: `realized`, or the code of the error realize failed with. */
export const outcomes = new Map<string, number>();
const count = (outcome: string) => outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);

/** One case: realize against the hostile server, use the device, close; returns what broke the rules. */
export const clientCase = async (plan: ServerPlan): Promise<string[]> => {
  const [ours, theirs] = native.socketpair();
  const server = hostileServer(native.channelFromFd(theirs), plan);
  const memory = guestMemory();
  memory.add({ iova: 0, size: 0x10000 });
  const untyped: unknown[] = [];
  try {
    const dev = await openDevice({ fd: ours, memory, timeoutMs: 100, dmaMode: plan.dmaMode }).catch((err: unknown) => {
      count(isTyped(err) ? (err as { code: string }).code : 'untyped');
      if (!isTyped(err)) untyped.push(err);
      return undefined;
    });
    if (dev) count('realized');
    if (dev) {
      await use(dev, untyped);
      await dev.close().catch((err: unknown) => isTyped(err) || untyped.push(err));
    } else {
      native.close(ours);
    }
  } finally {
    server.close();
    memory.close();
  }
  return untyped.map((e) => `untyped error: ${(e as Error)?.stack ?? String(e)}`);
};

/** What a client run found. */
export interface ClientFuzzReport {
  readonly cases: number;
  readonly fdGrowth: readonly string[];
  readonly unhandled: readonly string[];
}

/** Runs `cases` hostile servers against the client. Throws (fast-check's report, with seed and path) at the first failing case. */
export const fuzzClient = async (cases: number, seed: number, path?: string): Promise<ClientFuzzReport> => {
  const unhandled: string[] = [];
  const onUnhandled = (err: unknown) => unhandled.push(String((err as Error)?.stack ?? err));
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
  try {
    await clientCase({ spoils: [{ kind: 'none' }], dmaMode: 'fd', mappableBar: true });
    const before = openFds();
    await fc.assert(
      fc.asyncProperty(serverPlan, async (plan) => {
        const caseBefore = openFds();
        const broken = await within(5000, 'a client against a hostile server', clientCase(plan));
        if (broken.length > 0) throw new Error(broken.join('\n'));
        if (unhandled.length > 0) throw new Error(unhandled.join('\n'));
        const left = await settledFds(caseBefore);
        if (left.length > 0) throw new Error(`fds left open by this case: ${left.join(', ')}`);
      }),
      { numRuns: cases, seed, ...(path ? { path } : {}) },
    );
    return { cases, fdGrowth: await settledFds(before), unhandled };
  } finally {
    process.off('unhandledRejection', onUnhandled);
    process.off('uncaughtException', onUnhandled);
  }
};
