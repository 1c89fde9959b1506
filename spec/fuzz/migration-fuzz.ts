/**
 * Migration-focused server fuzz driver: `npx tsx spec/fuzz/migration-fuzz.ts --device gpio|dma-engine|ram|custom
 * --cases N --seed S [--path P]` (migration.spec.ts runs it briefly for every device; longer runs by hand).
 *
 * A raw client over a real socket drives DEVICE_FEATURE (MIGRATION, MIG_DEVICE_STATE with states 0..8,
 * DMA_LOGGING_START/STOP/REPORT), MIG_DATA_READ/WRITE and macro sequences (save fully, restore the saved
 * stream, restore mutated streams) interleaved with region accesses, DMA maps, resets and reconnects.
 * Each request waits for its reply (hang = no reply in 3 s), replies are checked, a model of the
 * migration state is checked against GET MIG_DEVICE_STATE, and after each case a good client must be
 * served, reset the device to RUNNING and find the same identity; no fd may be left open, nothing unhandled.
 */
import { ftruncateSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { Observable } from 'rxjs';
import { native, type Channel } from '../../src/native/index.js';
import { Command, DeviceFeature, HeaderFlags, MessageType } from '../../src/protocol/constants.js';
import { serve, pciDevice, memoryBar, msix, msixBar, type PciDevice } from '../../src/server/index.js';
import { sampleDevices } from '../../src/samples/index.js';
import { fdsOpenedSince, openFds } from '../fixtures/fds.js';
import { goodVersion, header } from './frames.js';

const { values } = parseArgs({
  options: {
    device: { type: 'string', default: 'custom' },
    cases: { type: 'string', default: '500' },
    seed: { type: 'string', default: '1' },
    path: { type: 'string' },
    verbose: { type: 'boolean', default: false },
  },
});

const { GET, SET, PROBE } = DeviceFeature;
const S = { ERROR: 0, STOP: 1, RUNNING: 2, STOP_COPY: 3, RESUMING: 4, RUNNING_P2P: 5, PRE_COPY: 6, PRE_COPY_P2P: 7 };
const tick = () => new Promise((r) => setImmediate(r));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- the custom device
const custom = { activeSaves: 0, loads: 0, regs: Buffer.alloc(64) };
const chunk = (body: Buffer): Buffer => {
  const b = Buffer.alloc(6 + body.length);
  b.write('CU', 0, 'latin1');
  b.writeUInt32LE(body.length, 2);
  body.copy(b, 6);
  return b;
};
const asyncChunks = (chunks: Buffer[]): Observable<Buffer> =>
  new Observable<Buffer>((sub) => {
    custom.activeSaves++;
    let i = 0;
    let timer: NodeJS.Timeout | undefined;
    const nextOne = () => {
      if (i >= chunks.length) return sub.complete();
      sub.next(chunks[i++]!);
      timer = setTimeout(nextOne, i % 2);
    };
    timer = setTimeout(nextOne, 0);
    return () => {
      custom.activeSaves--;
      clearTimeout(timer);
    };
  });
const customDevice = (): PciDevice =>
  pciDevice({
    name: 'custom',
    ids: { vendorId: 0x1af4, deviceId: 0x10fe, classCode: 0x088000 },
    interruptPin: 1,
    bars: {
      0: memoryBar(4096, {
        read: (offset, count) => {
          const out = Buffer.alloc(count);
          custom.regs.copy(out, 0, Math.min(offset, 64), Math.min(offset + count, 64));
          return out;
        },
        write: (offset, data) => {
          if (offset < 64) data.copy(custom.regs, offset, 0, Math.min(data.length, 64 - offset));
        },
      }),
      4: msixBar(2),
    },
    capabilities: [msix(2, 4)],
    reset: (reason) => {
      if (reason !== 'disconnect') custom.regs.fill(0);
    },
    migration: {
      raw: true,
      preCopy: true,
      save: (phase) =>
        phase === 'pre-copy'
          ? asyncChunks([chunk(Buffer.alloc(3000, 0xa1)), chunk(Buffer.alloc(0)), chunk(Buffer.alloc(5000, 0xa2))])
          : asyncChunks([chunk(Buffer.from('REGS')), chunk(Buffer.from(custom.regs)), chunk(Buffer.alloc(7000, 0xb3))]),
      load: (data) => {
        // A stream of CU chunks; the chunk after 'REGS' holds the registers.
        let at = 0;
        let regs: Buffer | undefined;
        let sawRegs = false;
        while (at < data.length) {
          if (data.length - at < 6 || data.toString('latin1', at, at + 2) !== 'CU') throw new Error(`bad chunk at ${at}`);
          const n = data.readUInt32LE(at + 2);
          if (data.length - at - 6 < n) throw new Error(`truncated chunk at ${at}`);
          const body = data.subarray(at + 6, at + 6 + n);
          if (sawRegs) {
            if (n !== 64) throw new Error('bad regs');
            regs = Buffer.from(body);
            sawRegs = false;
          } else if (body.toString('latin1') === 'REGS') sawRegs = true;
          at += 6 + n;
        }
        if (!regs) throw new Error('no registers in the stream');
        custom.loads++;
        const r = regs;
        // Half the time the load completes asynchronously.
        if (r[0]! & 1) return new Observable<unknown>((s) => void setTimeout(() => (r.copy(custom.regs), s.complete()), 1));
        r.copy(custom.regs);
        return undefined;
      },
      quiesce: () => new Observable<unknown>((s) => void setTimeout(() => s.complete(), 0)),
    },
  });

// ---------------------------------------------------------------- raw client with replies by id
interface Reply {
  command: number;
  flags: number;
  error: number;
  payload: Buffer;
}
const GUEST_IOVA = 0x100000;
const GUEST_SIZE = 0x10000;

class RawClient {
  channel: Channel;
  ended = false;
  got = Buffer.alloc(0);
  waiting = new Map<number, (r: Reply) => void>();
  bad: string[] = [];
  id = 1;
  guest = Buffer.alloc(GUEST_SIZE);
  dmaAnswers: 'now' | 'late' | 'never' = 'now';
  constructor(path: string) {
    this.channel = native.connect(path);
    this.channel.start({
      data: (bytes, fds) => {
        fds.forEach(native.close);
        this.got = Buffer.concat([this.got, bytes]);
        while (this.got.length >= 16) {
          const size = this.got.readUInt32LE(4);
          if (size < 16) {
            this.bad.push(`msg_size ${size}`);
            this.got = Buffer.alloc(0);
            return;
          }
          if (this.got.length < size) break;
          const id = this.got.readUInt16LE(0);
          const r: Reply = { command: this.got.readUInt16LE(2), flags: this.got.readUInt32LE(8), error: this.got.readUInt32LE(12), payload: Buffer.from(this.got.subarray(16, size)) };
          this.got = this.got.subarray(size);
          const type = r.flags & HeaderFlags.TYPE_MASK;
          if (type === MessageType.COMMAND) this.serveDma(id, r);
          else if (type === MessageType.REPLY) {
            if ((r.flags & HeaderFlags.ERROR) !== 0 && r.error === 0) this.bad.push(`error reply to ${r.command} with errno 0`);
            const w = this.waiting.get(id);
            if (!w) this.bad.push(`a reply to no request: id ${id} command ${r.command}`);
            this.waiting.delete(id);
            w?.(r);
          } else this.bad.push(`message of type ${type}`);
        }
      },
      end: () => this.end(),
      error: () => this.end(),
    });
  }
  private end() {
    this.ended = true;
    for (const w of this.waiting.values()) w({ command: -1, flags: 0, error: -1, payload: Buffer.alloc(0) });
    this.waiting.clear();
  }
  private serveDma(id: number, r: Reply) {
    if (this.dmaAnswers === 'never') return;
    const address = Number(r.payload.readBigUInt64LE(0));
    const count = Number(r.payload.readBigUInt64LE(8));
    const off = address - GUEST_IOVA;
    const inside = off >= 0 && off + count <= GUEST_SIZE;
    let body: Buffer;
    let flags = MessageType.REPLY;
    let errno = 0;
    if (!inside) {
      body = Buffer.alloc(0);
      flags |= HeaderFlags.ERROR;
      errno = 14;
    } else if (r.command === Command.DMA_READ) body = Buffer.concat([r.payload.subarray(0, 16), this.guest.subarray(off, off + count)]);
    else {
      r.payload.copy(this.guest, off, 16);
      body = r.payload.subarray(0, 16);
    }
    const send = () => !this.ended && this.trySend(Buffer.concat([header(id, r.command, 16 + body.length, flags, errno), body]));
    if (this.dmaAnswers === 'late') setTimeout(send, 5);
    else send();
  }
  trySend(bytes: Buffer, fds: number[] = []): boolean {
    try {
      this.channel.send([bytes], fds);
      return true;
    } catch {
      this.end();
      return false;
    }
  }
  /** Sends a command; resolves with its reply (or undefined when the connection ended, or 'hang'). */
  request(command: number, payload: Buffer, fds: number[] = [], timeoutMs = 3000): Promise<Reply | undefined | 'hang'> {
    if (this.ended) return Promise.resolve(undefined);
    const id = this.id++ & 0xffff;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve('hang');
      }, timeoutMs);
      this.waiting.set(id, (r) => {
        clearTimeout(timer);
        resolve(r.command === -1 ? undefined : r);
      });
      if (!this.trySend(Buffer.concat([header(id, command, 16 + payload.length, MessageType.COMMAND, 0), payload]), fds)) {
        clearTimeout(timer);
        resolve(undefined);
      }
    });
  }
  close() {
    this.ended = true;
    this.channel.close();
  }
}

// ---------------------------------------------------------------- payload builders
const u32 = (...v: number[]) => {
  const b = Buffer.alloc(4 * v.length);
  v.forEach((x, i) => b.writeUInt32LE(x >>> 0, 4 * i));
  return b;
};
const u64 = (...v: (number | bigint)[]) => {
  const b = Buffer.alloc(8 * v.length);
  v.forEach((x, i) => b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(x)), 8 * i));
  return b;
};
const feature = (argsz: number, flags: number, data: Buffer) => Buffer.concat([u32(argsz, flags), data]);
const setStatePayload = (state: number, dataFd = 0) => feature(16, SET | 2, u32(state, dataFd));
const getStatePayload = () => feature(16, GET | 2, Buffer.alloc(0));
const migRead = (size: number, argsz = 8 + size) => u32(argsz, size);
const migWrite = (data: Buffer, argsz = 8 + data.length, size = data.length) => Buffer.concat([u32(argsz, size), data]);
const regionRead = (region: number, offset: number, count: number) => Buffer.concat([u64(offset), u32(region, count)]);
const regionWrite = (region: number, offset: number, data: Buffer) => Buffer.concat([u64(offset), u32(region, data.length), data]);

// ---------------------------------------------------------------- steps
type Step =
  | { k: 'set'; state: number; dataFd: number }
  | { k: 'get' }
  | { k: 'getMigration'; argsz: number }
  | { k: 'feature'; argsz: number; flags: number; data: Uint8Array }
  | { k: 'logStart'; pageSize: bigint; ranges: [bigint, bigint][]; lie: number }
  | { k: 'logReport'; iova: bigint; length: bigint; pageSize: bigint; argsz: number }
  | { k: 'logStop' }
  | { k: 'read'; size: number; argsz: number }
  | { k: 'write'; source: 'saved' | 'mutated' | 'random' | 'record'; flipAt: number; cut: number; data: Uint8Array; tag: number; pieces: number; argszDelta: number }
  | { k: 'region'; region: number; offset: number; data: Uint8Array; read: boolean }
  | { k: 'dmaProgram'; src: number; dst: number; len: number }
  | { k: 'dmaMap'; fd: boolean; shrink: boolean }
  | { k: 'dmaUnmap' }
  | { k: 'dmaAnswers'; how: 'now' | 'late' | 'never' }
  | { k: 'reset' }
  | { k: 'saveAll' }
  | { k: 'roundTrip' }
  | { k: 'reconnect' }
  | { k: 'burst'; states: number[] }
  | { k: 'configWrite'; offset: number; data: Uint8Array }
  | { k: 'resumeWith'; how: 'saved' | 'mutated' | 'hostileConfig' | 'truncated'; edits: [number, number][]; run: boolean; after: Step[] }
  | { k: 'logCycle'; pageSize: number; src: number; dst: number; len: number };

const stateArb = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(1, 2, 3, 4, 6) }, { weight: 2, arbitrary: fc.constantFrom(0, 5, 7, 8) }, { weight: 1, arbitrary: fc.nat() });
const pow2 = fc.nat(21).map((e) => 2n ** BigInt(e));
const pageSizeArb = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(4096n, 512n, 1n, 65536n, 1n << 20n) }, { weight: 2, arbitrary: pow2 }, { weight: 1, arbitrary: fc.constantFrom(0n, 3n, 4095n, 1n << 52n, 1n << 63n, (1n << 64n) - 1n) });
const addrArb = fc.oneof(
  fc.constantFrom(0n, BigInt(GUEST_IOVA), 0x1000n, 0x100000000n, (1n << 53n) - 4096n, 1n << 53n, (1n << 64n) - 4096n),
  fc.nat(0x40).map((n) => BigInt(GUEST_IOVA) + BigInt(n) * 0x1000n),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
);
const lenArb = fc.oneof(
  fc.constantFrom(0n, 1n, 0x1000n, BigInt(GUEST_SIZE), 0x100000n, 1n << 32n, 1n << 40n, (1n << 53n) - 1n, 1n << 53n, (1n << 64n) - 1n),
  fc.nat(0x40).map((n) => BigInt(n) * 0x1000n),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
);
const featureFlags = fc.tuple(fc.constantFrom(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0xffff), fc.constantFrom(GET, SET, PROBE, PROBE | GET, PROBE | SET, PROBE | GET | SET, GET | SET, 0, 1 << 19, 0xffff0000)).map(([f, o]) => (f | o) >>> 0);
const argszArb = fc.constantFrom(0, 7, 8, 12, 16, 24, 32, 4096, 0x7fffffff, 0xffffffff);
const sizeArb = fc.oneof(fc.constantFrom(0, 1, 5, 8, 64, 4096, 1 << 20, (1 << 20) + 1, 0xffffffff), fc.nat(20000));

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ k: fc.constant('set' as const), state: stateArb, dataFd: fc.oneof({ weight: 9, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat() }) }) },
  { weight: 3, arbitrary: fc.constant({ k: 'get' as const }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('getMigration' as const), argsz: argszArb }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('feature' as const), argsz: argszArb, flags: featureFlags, data: fc.uint8Array({ maxLength: 48 }) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant('logStart' as const),
      pageSize: pageSizeArb,
      ranges: fc.array(fc.tuple(addrArb, lenArb), { maxLength: 5 }),
      lie: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -3, max: 3 }) }, { weight: 1, arbitrary: fc.constant(0x7fffffff) }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('logReport' as const), iova: addrArb, length: lenArb, pageSize: pageSizeArb, argsz: fc.oneof({ weight: 3, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: argszArb }) }) },
  { weight: 1, arbitrary: fc.constant({ k: 'logStop' as const }) },
  { weight: 6, arbitrary: fc.record({ k: fc.constant('read' as const), size: sizeArb, argsz: fc.oneof({ weight: 4, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: argszArb }) }) },
  {
    weight: 6,
    arbitrary: fc.record({
      k: fc.constant('write' as const),
      source: fc.constantFrom('saved' as const, 'mutated' as const, 'random' as const, 'record' as const),
      flipAt: fc.nat(20000),
      cut: fc.oneof(fc.constant(-1), fc.nat(20000)),
      data: fc.uint8Array({ maxLength: 300 }),
      tag: fc.constantFrom(1, 2, 3, 4, 0, 5, 255),
      pieces: fc.integer({ min: 1, max: 4 }),
      argszDelta: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, fc.constantFrom(-1, 1, 0x1000, -8)),
    }),
  },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('region' as const), region: fc.constantFrom(0, 2, 4, 7, 1, 9), offset: fc.oneof(fc.nat(0x40), fc.nat(0x1100)), data: fc.uint8Array({ minLength: 1, maxLength: 8 }), read: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('dmaProgram' as const), src: fc.nat(GUEST_SIZE), dst: fc.nat(GUEST_SIZE), len: fc.oneof(fc.nat(GUEST_SIZE), fc.constantFrom(0, 1, GUEST_SIZE)) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('dmaMap' as const), fd: fc.boolean(), shrink: fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }) }) },
  { weight: 1, arbitrary: fc.constant({ k: 'dmaUnmap' as const }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('dmaAnswers' as const), how: fc.constantFrom('now' as const, 'late' as const, 'never' as const) }) },
  { weight: 1, arbitrary: fc.constant({ k: 'reset' as const }) },
  { weight: 3, arbitrary: fc.constant({ k: 'saveAll' as const }) },
  { weight: 3, arbitrary: fc.constant({ k: 'roundTrip' as const }) },
  { weight: 1, arbitrary: fc.constant({ k: 'reconnect' as const }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('burst' as const), states: fc.array(stateArb, { minLength: 2, maxLength: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('configWrite' as const), offset: fc.constantFrom(4, 0x10, 0x14, 0x18, 0x3c, 0x40, 0x42, 0x50, 0x52, 0x70, 0x72, 0x80, 0x82), data: fc.uint8Array({ minLength: 1, maxLength: 4 }) }) },
);
const stepOrMacro: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: step },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('resumeWith' as const),
      how: fc.constantFrom('saved' as const, 'mutated' as const, 'hostileConfig' as const, 'truncated' as const),
      edits: fc.array(fc.tuple(fc.nat(5000), fc.nat(255)), { minLength: 1, maxLength: 40 }),
      run: fc.boolean(),
      after: fc.array(step, { maxLength: 4 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('logCycle' as const), pageSize: fc.constantFrom(1, 512, 4096, 8192), src: fc.nat(GUEST_SIZE - 1), dst: fc.nat(GUEST_SIZE - 1), len: fc.nat(0x8000) }) },
);
const script = fc.record({ steps: fc.array(stepOrMacro, { minLength: 1, maxLength: 12 }), closeMidMessage: fc.boolean() });

// ---------------------------------------------------------------- running a case
const device = values.device!;
const preCopy = device === 'custom' || device === 'dma-engine';
const ALLOWED = new Set([S.STOP, S.RUNNING, S.STOP_COPY, S.RESUMING, ...(preCopy ? [S.PRE_COPY] : [])]);

interface Ctx {
  c: RawClient;
  expected: number | undefined; // the model's migration state (undefined: unknown)
  saved: Buffer; // a stream saved at setup (good)
  problems: string[];
  memfds: number[];
  mapped: boolean;
  trace: string[];
}

const isErr = (r: Reply) => (r.flags & HeaderFlags.ERROR) !== 0;
const describe = (r: Reply | undefined | 'hang') => (r === undefined ? 'closed' : r === 'hang' ? 'HANG' : isErr(r) ? `errno ${r.error}` : `ok(${r.payload.length})`);

const req = async (x: Ctx, what: string, command: number, payload: Buffer, fds: number[] = []): Promise<Reply | undefined> => {
  const r = await x.c.request(command, payload, fds);
  x.trace.push(`${what} -> ${describe(r)}`);
  if (r === 'hang') {
    x.problems.push(`hang: no reply to ${what} within 3 s`);
    return undefined;
  }
  if (r && r.command !== command) x.problems.push(`reply to ${what} names command ${r.command}`);
  return r;
};

const getState = async (x: Ctx, why: string): Promise<number | undefined> => {
  const r = await req(x, 'GET MIG_DEVICE_STATE', Command.DEVICE_FEATURE, getStatePayload());
  if (!r) return undefined;
  if (isErr(r)) {
    x.problems.push(`GET MIG_DEVICE_STATE failed (errno ${r.error}) ${why}`);
    return undefined;
  }
  const s = r.payload.readUInt32LE(8);
  if (!ALLOWED.has(s) && s !== S.ERROR) x.problems.push(`GET MIG_DEVICE_STATE says ${s} ${why}`);
  if (x.expected !== undefined && s !== x.expected) x.problems.push(`state is ${s}, the model says ${x.expected} ${why}`);
  x.expected = s;
  return s;
};

const setState = async (x: Ctx, state: number, dataFd = 0): Promise<boolean | undefined> => {
  const from = x.expected;
  const r = await req(x, `SET MIG_DEVICE_STATE ${state}`, Command.DEVICE_FEATURE, setStatePayload(state, dataFd));
  if (!r) return undefined;
  if (!isErr(r)) {
    if (!ALLOWED.has(state)) x.problems.push(`SET MIG_DEVICE_STATE ${state} succeeded (not a reachable state)`);
    if (from === S.STOP_COPY && state === S.PRE_COPY) x.problems.push('SET STOP_COPY -> PRE_COPY succeeded');
    if (r.payload.length !== 16) x.problems.push(`SET reply of ${r.payload.length} bytes`);
    x.expected = state;
    return true;
  }
  // A failed SET may leave the device part-way: ask.
  x.expected = undefined;
  await getState(x, `after a refused SET ${state}`);
  return false;
};

const checkMigReadReply = (x: Ctx, r: Reply, size: number) => {
  if (r.payload.length !== 8 + size) x.problems.push(`MIG_DATA_READ(${size}) reply payload ${r.payload.length} bytes`);
  const argsz = r.payload.readUInt32LE(0);
  const got = r.payload.readUInt32LE(4);
  if (got > size) x.problems.push(`MIG_DATA_READ(${size}) reply size ${got}`);
  if (argsz !== 8 + got) x.problems.push(`MIG_DATA_READ reply argsz ${argsz}, size ${got}`);
  if (x.expected !== undefined && x.expected !== S.PRE_COPY && x.expected !== S.STOP_COPY) x.problems.push(`MIG_DATA_READ succeeded in state ${x.expected}`);
};

/** Reads the stream until the end (a short read in STOP_COPY); undefined if something failed. */
const readAll = async (x: Ctx, chunk = 4096): Promise<Buffer | undefined> => {
  const parts: Buffer[] = [];
  for (let i = 0; i < 200; i++) {
    const r = await req(x, `MIG_DATA_READ ${chunk}`, Command.MIG_DATA_READ, migRead(chunk));
    if (!r || isErr(r)) return undefined;
    checkMigReadReply(x, r, chunk);
    const n = r.payload.readUInt32LE(4);
    parts.push(r.payload.subarray(8, 8 + n));
    if (n < chunk) return Buffer.concat(parts);
  }
  x.problems.push('MIG_DATA_READ never reached the end of the stream (200 reads)');
  return undefined;
};

const writeStream = async (x: Ctx, data: Buffer, pieces = 1): Promise<boolean> => {
  const per = Math.max(1, Math.ceil(data.length / pieces));
  for (let at = 0; at < data.length || (at === 0 && data.length === 0); at += per) {
    const r = await req(x, `MIG_DATA_WRITE ${Math.min(per, data.length - at)}`, Command.MIG_DATA_WRITE, migWrite(data.subarray(at, at + per)));
    if (!r || isErr(r)) return false;
    if (data.length === 0) break;
  }
  return true;
};

const makeMemfd = (x: Ctx, size: number) => {
  const fd = native.memfd('migfuzz', size, { sealed: false });
  x.memfds.push(fd);
  return fd;
};

const run = async (x: Ctx, s: Step, path: string): Promise<void> => {
  switch (s.k) {
    case 'set':
      await setState(x, s.state, s.dataFd);
      return;
    case 'get':
      await getState(x, 'on a GET step');
      return;
    case 'getMigration': {
      const r = await req(x, 'GET MIGRATION', Command.DEVICE_FEATURE, feature(s.argsz, GET | 1, Buffer.alloc(0)));
      if (r && !isErr(r)) {
        if (s.argsz < 16) x.problems.push(`GET MIGRATION with argsz ${s.argsz} succeeded`);
        const flags = r.payload.readUInt32LE(8);
        if ((flags & 1) === 0 || ((flags & 4) !== 0) !== preCopy) x.problems.push(`GET MIGRATION flags ${flags}`);
      }
      return;
    }
    case 'feature': {
      const r = await req(x, `DEVICE_FEATURE flags 0x${s.flags.toString(16)} argsz ${s.argsz} data ${s.data.length}`, Command.DEVICE_FEATURE, feature(s.argsz, s.flags, Buffer.from(s.data)));
      if (r && !isErr(r) && (s.flags & 0xffff) === 2 && (s.flags & (SET | PROBE)) === SET) x.expected = undefined;
      if (r && !isErr(r) && (s.flags & 0xffff) === 2 && (s.flags & PROBE) === 0 && (s.flags & SET) !== 0) await getState(x, 'after a raw SET');
      return;
    }
    case 'logStart': {
      const n = s.ranges.length + s.lie;
      const body = Buffer.concat([u64(s.pageSize), u32(n >>> 0, 0), ...s.ranges.map(([a, l]) => u64(a, l))]);
      const r = await req(x, `DMA_LOGGING_START page ${s.pageSize} ranges ${JSON.stringify(s.ranges.map(([a, l]) => [a.toString(16), l.toString(16)]))} n ${n}`, Command.DEVICE_FEATURE, feature(8 + body.length, SET | 6, body));
      if (r && !isErr(r)) {
        if (s.lie > 0 || n < 0) x.problems.push(`DMA_LOGGING_START with num_ranges ${n} for ${s.ranges.length} ranges succeeded`);
        if (r.payload.length < 24) x.problems.push(`DMA_LOGGING_START reply of ${r.payload.length} bytes`);
      }
      return;
    }
    case 'logReport': {
      const argsz = s.argsz === -1 ? 0xffffffff : s.argsz;
      const before = process.memoryUsage().rss;
      const t0 = Date.now();
      const r = await req(x, `DMA_LOGGING_REPORT iova 0x${s.iova.toString(16)} len 0x${s.length.toString(16)} page ${s.pageSize} argsz ${argsz}`, Command.DEVICE_FEATURE, feature(argsz, GET | 8, u64(s.iova, s.length, s.pageSize)));
      const dt = Date.now() - t0;
      const grew = process.memoryUsage().rss - before;
      if (dt > 500 || grew > 256 << 20) x.problems.push(`DMA_LOGGING_REPORT len 0x${s.length.toString(16)} page ${s.pageSize}: ${dt} ms, rss +${grew >> 20} MiB, reply ${describe(r)}`);
      if (r && !isErr(r)) {
        const pages = (s.length + s.pageSize - 1n) / s.pageSize;
        const bitmap = Number(((pages + 63n) / 64n) * 8n);
        if (r.payload.length !== 8 + 24 + bitmap) x.problems.push(`DMA_LOGGING_REPORT reply ${r.payload.length} bytes for a ${bitmap}-byte bitmap`);
        if (argsz < 8 + 24 + bitmap) x.problems.push(`DMA_LOGGING_REPORT reply larger than argsz ${argsz}`);
      }
      return;
    }
    case 'logStop':
      await req(x, 'DMA_LOGGING_STOP', Command.DEVICE_FEATURE, feature(8, SET | 7, Buffer.alloc(0)));
      return;
    case 'read': {
      const argsz = s.argsz === -1 ? 8 + s.size : s.argsz;
      const r = await req(x, `MIG_DATA_READ size ${s.size} argsz ${argsz}`, Command.MIG_DATA_READ, migRead(s.size, argsz));
      if (r && !isErr(r)) {
        if (argsz < 8 + s.size) x.problems.push(`MIG_DATA_READ with argsz ${argsz} < 8 + ${s.size} succeeded`);
        checkMigReadReply(x, r, s.size);
      }
      return;
    }
    case 'write': {
      let data: Buffer;
      if (s.source === 'saved') data = x.saved;
      else if (s.source === 'mutated') {
        data = Buffer.from(x.saved);
        if (data.length > 0) data[s.flipAt % data.length] ^= 0xff;
        if (s.cut >= 0) data = data.subarray(0, s.cut % (data.length + 1));
      } else if (s.source === 'random') data = Buffer.from(s.data);
      else {
        const body = Buffer.from(s.data);
        const h = Buffer.alloc(5);
        h[0] = s.tag;
        h.writeUInt32LE(s.cut >= 0 ? s.cut : body.length, 1);
        data = Buffer.concat([h, body]);
      }
      const per = Math.max(1, Math.ceil(data.length / s.pieces));
      for (let at = 0; at < Math.max(1, data.length); at += per) {
        const piece = data.subarray(at, at + per);
        const r = await req(x, `MIG_DATA_WRITE ${s.source} ${piece.length} (argsz +${s.argszDelta})`, Command.MIG_DATA_WRITE, migWrite(piece, 8 + piece.length + s.argszDelta));
        if (!r || isErr(r)) break;
        if (s.argszDelta < 0) x.problems.push(`MIG_DATA_WRITE with argsz below 8 + size succeeded`);
        if (x.expected !== undefined && x.expected !== S.RESUMING) x.problems.push(`MIG_DATA_WRITE succeeded in state ${x.expected}`);
      }
      return;
    }
    case 'region': {
      const d = Buffer.from(s.data);
      if (s.read) await req(x, `REGION_READ ${s.region} @0x${s.offset.toString(16)} ${d.length}`, Command.REGION_READ, regionRead(s.region, s.offset, d.length));
      else await req(x, `REGION_WRITE ${s.region} @0x${s.offset.toString(16)} ${d.toString('hex')}`, Command.REGION_WRITE, regionWrite(s.region, s.offset, d));
      return;
    }
    case 'configWrite':
      await req(x, `config write @0x${s.offset.toString(16)} ${Buffer.from(s.data).toString('hex')}`, Command.REGION_WRITE, regionWrite(7, s.offset, Buffer.from(s.data)));
      return;
    case 'dmaProgram': {
      // dma-engine registers on BAR 0 (other devices: plain writes).
      const regs = u32(GUEST_IOVA + s.src, 0, GUEST_IOVA + s.dst, 0, s.len);
      await req(x, `dma-engine program src 0x${s.src.toString(16)} dst 0x${s.dst.toString(16)} len ${s.len}`, Command.REGION_WRITE, regionWrite(0, 0, regs));
      await req(x, 'dma-engine doorbell', Command.REGION_WRITE, regionWrite(0, 0x14, u32(1)));
      return;
    }
    case 'dmaMap': {
      if (x.mapped) await req(x, 'DMA_UNMAP (before map)', Command.DMA_UNMAP, Buffer.concat([u32(32, 0), u64(GUEST_IOVA, GUEST_SIZE)]));
      const fds = s.fd ? [makeMemfd(x, GUEST_SIZE)] : [];
      const r = await req(x, `DMA_MAP ${s.fd ? 'fd' : 'message'}`, Command.DMA_MAP, Buffer.concat([u32(32, 3), u64(0, GUEST_IOVA, GUEST_SIZE)]), fds);
      x.mapped = !!r && !isErr(r);
      if (s.shrink) for (const fd of x.memfds) ftruncateSync(fd, 0);
      return;
    }
    case 'dmaUnmap':
      await req(x, 'DMA_UNMAP', Command.DMA_UNMAP, Buffer.concat([u32(32, 0), u64(GUEST_IOVA, GUEST_SIZE)]));
      x.mapped = false;
      return;
    case 'dmaAnswers':
      x.c.dmaAnswers = s.how;
      x.trace.push(`dma answers ${s.how}`);
      return;
    case 'reset': {
      const r = await req(x, 'DEVICE_RESET', Command.DEVICE_RESET, Buffer.alloc(0));
      if (r && !isErr(r)) x.expected = S.RUNNING;
      else x.expected = undefined;
      return;
    }
    case 'saveAll': {
      if (!(await setState(x, S.STOP_COPY))) return;
      const data = await readAll(x);
      x.trace.push(`saved ${data?.length} bytes`);
      return;
    }
    case 'roundTrip': {
      // The device's own stream must be accepted by the device, and put it back as it was.
      if (!(await setState(x, S.STOP))) return;
      if (!(await setState(x, S.STOP_COPY))) return;
      const before = device === 'custom' ? Buffer.from(custom.regs) : undefined;
      const data = await readAll(x);
      if (!data) return;
      if (!(await setState(x, S.STOP))) { x.problems.push('STOP_COPY -> STOP refused after a full save'); return; }
      if (!(await setState(x, S.RESUMING))) { x.problems.push('STOP -> RESUMING refused'); return; }
      if (!(await writeStream(x, data, 3))) { x.problems.push(`MIG_DATA_WRITE of the device's own ${data.length}-byte stream refused`); return; }
      const ok = await setState(x, S.STOP);
      if (ok === false) x.problems.push(`RESUMING -> STOP refused the device's own ${data.length}-byte stream (${data.subarray(0, 48).toString('hex')}...)`);
      if (ok && before && !custom.regs.equals(before)) x.problems.push('the custom device came back with other registers');
      return;
    }
    case 'reconnect': {
      x.c.close();
      x.memfds.forEach(native.close);
      x.memfds = [];
      x.mapped = false;
      await tick();
      x.c = await handshake(path, x);
      return;
    }
    case 'resumeWith': {
      let data = Buffer.from(x.saved);
      if (s.how === 'mutated') for (const [at, v] of s.edits) if (data.length) data[at % data.length] = v;
      if (s.how === 'truncated') data = data.subarray(0, s.edits[0]![0] % (data.length + 1));
      if (s.how === 'hostileConfig') {
        // Rewrite the CONFIG record's bytes past the ids (framework streams), or the whole stream's (raw).
        let at = 0;
        let cfg: [number, number] | undefined;
        while (at + 5 <= data.length) {
          const n = data.readUInt32LE(at + 1);
          if (data[at] === 2) cfg = [at + 5, n];
          at += 5 + n;
        }
        for (const [off, v] of s.edits) {
          if (cfg && cfg[1] > 4) data[cfg[0] + 4 + (off % (cfg[1] - 4))] = v;
          else if (data.length) data[off % data.length] = v;
        }
      }
      if (!(await setState(x, S.STOP))) return;
      if (!(await setState(x, S.RESUMING))) return;
      if (!(await writeStream(x, data, 1 + (s.edits.length % 3)))) return;
      const ok = await setState(x, S.STOP);
      if (s.how === 'saved' && ok === false) x.problems.push(`RESUMING -> STOP refused the device's saved ${data.length}-byte stream`);
      if (ok && s.run) await setState(x, S.RUNNING);
      for (const a of s.after) await run(x, a, path);
      if (ok) {
        // Poke the restored device: config, MSI-X through its BAR, interrupts.
        await req(x, 'config read 256 after a load', Command.REGION_READ, regionRead(7, 0, 256));
        await req(x, 'BAR0 read after a load', Command.REGION_READ, regionRead(0, 0, 8));
        await req(x, 'SET_IRQS msix 0..1 after a load', Command.DEVICE_SET_IRQS, Buffer.concat([u32(20, 0x21, 2, 0, 2)]));
      }
      return;
    }
    case 'logCycle': {
      // Logging must report the pages a mapped DMA copy wrote.
      if (device !== 'dma-engine') return;
      if (x.expected !== S.RUNNING) {
        const r = await req(x, 'DEVICE_RESET (logCycle)', Command.DEVICE_RESET, Buffer.alloc(0));
        if (!r || isErr(r)) return;
        x.expected = S.RUNNING;
      }
      await run(x, { k: 'dmaMap', fd: true, shrink: false }, path);
      if (!x.mapped) return;
      await req(x, 'DMA_LOGGING_STOP (logCycle)', Command.DEVICE_FEATURE, feature(8, SET | 7, Buffer.alloc(0)));
      const start = Buffer.concat([u64(s.pageSize), u32(1, 0), u64(GUEST_IOVA, GUEST_SIZE)]);
      const st = await req(x, `DMA_LOGGING_START page ${s.pageSize} (logCycle)`, Command.DEVICE_FEATURE, feature(8 + start.length, SET | 6, start));
      if (!st || isErr(st)) { x.problems.push(`DMA_LOGGING_START page ${s.pageSize} over the mapping refused`); return; }
      const len = Math.min(s.len, GUEST_SIZE - s.src, GUEST_SIZE - s.dst);
      await run(x, { k: 'dmaProgram', src: s.src, dst: s.dst, len }, path);
      await sleep(2);
      const rep = await req(x, 'DMA_LOGGING_REPORT (logCycle)', Command.DEVICE_FEATURE, feature(0xffffffff, GET | 8, u64(GUEST_IOVA, GUEST_SIZE, 4096)));
      if (!rep || isErr(rep)) { x.problems.push(`DMA_LOGGING_REPORT over the mapping: ${describe(rep)}`); return; }
      const bitmap = rep.payload.subarray(8 + 24);
      const status = await req(x, 'dma-engine STATUS', Command.REGION_READ, regionRead(0, 0x18, 4));
      const st32 = status && !isErr(status) ? status.payload.readUInt32LE(16) : -1;
      if (len > 0 && st32 >= 0 && (st32 & 2) !== 0 && (st32 & 4) === 0) {
        for (let p = Math.floor(s.dst / 4096); p <= Math.floor((s.dst + len - 1) / 4096); p++) {
          if ((bitmap[p >> 3]! & (1 << (p & 7))) === 0) {
            x.problems.push(`page ${p} written by a copy to 0x${s.dst.toString(16)}+${len} is not in the dirty report (status ${st32})`);
            break;
          }
        }
      }
      return;
    }
    case 'burst': {
      // Pipelined SETs: each answered, in order.
      const rs = await Promise.all(s.states.map((st) => x.c.request(Command.DEVICE_FEATURE, setStatePayload(st))));
      x.trace.push(`burst ${s.states.join(',')} -> ${rs.map(describe).join(',')}`);
      if (rs.includes('hang')) x.problems.push(`hang in a burst of SETs ${s.states.join(',')}`);
      x.expected = undefined;
      await getState(x, 'after a burst');
      return;
    }
  }
};

const handshake = async (path: string, x: Ctx): Promise<RawClient> => {
  const deadline = Date.now() + 1000;
  for (;;) {
    const c = new RawClient(path);
    const r = await c.request(Command.VERSION, goodVersion(), [], 1000);
    if (r && r !== 'hang' && !isErr(r)) return c;
    c.close();
    if (Date.now() > deadline) {
      x.problems.push(`a client was not served within a second (${describe(r)})`);
      return c;
    }
    await sleep(5);
  }
};

// ---------------------------------------------------------------- the run
const main = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'migfuzz-'));
  const socketPath = join(dir, 'dev.sock');
  const dev = device === 'custom' ? customDevice() : sampleDevices[device as 'gpio'].create();
  const serverErrors: string[] = [];
  const unhandled: string[] = [];
  process.on('unhandledRejection', (e) => unhandled.push(String((e as Error)?.stack ?? e)));
  process.on('uncaughtException', (e) => unhandled.push(String((e as Error)?.stack ?? e)));
  const sub = serve(dev, { socketPath }, { timeoutMs: 300 }).subscribe({
    error: (e: unknown) => serverErrors.push(`serve errored: ${(e as Error)?.stack ?? e}`),
    next: (e) => e.kind === 'device-error' && serverErrors.push(`device-error: ${(e as { error: Error }).error?.stack ?? String((e as { error: unknown }).error)}`),
  });
  await sleep(50);
  // Setup: identity, and a good saved stream.
  const setupCtx: Ctx = { c: undefined as unknown as RawClient, expected: S.RUNNING, saved: Buffer.alloc(0), problems: [], memfds: [], mapped: false, trace: [] };
  setupCtx.c = await handshake(socketPath, setupCtx);
  const identity = async (x: Ctx) => {
    const r = await req(x, 'config ids', Command.REGION_READ, regionRead(7, 0, 4));
    return r && !isErr(r) ? r.payload.subarray(16).toString('hex') : `failed ${describe(r)}`;
  };
  const ids = await identity(setupCtx);
  await setState(setupCtx, S.STOP_COPY);
  const saved = (await readAll(setupCtx)) ?? Buffer.alloc(0);
  await setState(setupCtx, S.RUNNING);
  setupCtx.c.close();
  if (setupCtx.problems.length) throw new Error(`setup: ${setupCtx.problems.join('\n')}`);
  console.log(`${device}: ids ${ids}, saved stream ${saved.length} bytes`);
  await sleep(20);

  const before = openFds();
  const rssStart = process.memoryUsage().rss;
  let cases = 0;
  let maxRss = 0;
  const stepCounts = new Map<string, number>();
  const replyCounts = new Map<string, number>();
  let failure: unknown;
  try {
    await fc.assert(
      fc.asyncProperty(script, async (sc) => {
        cases++;
        const caseFds = openFds();
        const x: Ctx = { c: undefined as unknown as RawClient, expected: undefined, saved, problems: [], memfds: [], mapped: false, trace: [] };
        x.c = await handshake(socketPath, x);
        try {
          await getState(x, 'at the start');
          for (const s of sc.steps) {
            if (x.c.ended) break;
            stepCounts.set(s.k, (stepCounts.get(s.k) ?? 0) + 1);
            await run(x, s, socketPath);
          }
          for (const t of x.trace) {
            const key = t.replace(/ \d+| 0x[0-9a-f]+|\[.*\]|\(.*\)/g, '').slice(0, 40);
            replyCounts.set(key, (replyCounts.get(key) ?? 0) + 1);
          }
          if (sc.closeMidMessage) x.c.trySend(Buffer.concat([header(0x4242, Command.MIG_DATA_WRITE, 16 + 8 + 100, 0, 0), u32(108, 100)]));
          x.problems.push(...x.c.bad);
        } finally {
          x.c.close();
          x.memfds.forEach(native.close);
        }
        // The next client: served, a valid state, a reset brings RUNNING, same identity.
        const y: Ctx = { c: undefined as unknown as RawClient, expected: undefined, saved, problems: [], memfds: [], mapped: false, trace: [] };
        y.c = await handshake(socketPath, y);
        await getState(y, 'for the next client');
        const r = await req(y, 'DEVICE_RESET (next client)', Command.DEVICE_RESET, Buffer.alloc(0));
        if (!r || isErr(r)) y.problems.push(`the next client's DEVICE_RESET: ${describe(r)}`);
        y.expected = S.RUNNING;
        await getState(y, 'after the next client reset the device');
        const seen = await identity(y);
        if (seen !== ids) y.problems.push(`identity ${seen}, was ${ids}`);
        y.c.close();
        for (let i = 0; i < 50 && (fdsOpenedSince(caseFds).length > 0 || (device === 'custom' && custom.activeSaves > 0)); i++) await tick();
        const left = fdsOpenedSince(caseFds);
        if (left.length) y.problems.push(`fds left open: ${left.join(', ')}`);
        if (device === 'custom' && custom.activeSaves > 0) y.problems.push(`${custom.activeSaves} save stream(s) still subscribed after a reset`);
        maxRss = Math.max(maxRss, process.memoryUsage().rss);
        const all = [...x.problems, ...y.problems, ...unhandled.splice(0), ...serverErrors.splice(0)];
        if (all.length) throw new Error(`${all.join('\n')}\n-- trace:\n${x.trace.join('\n')}`);
      }),
      { numRuns: Number(values.cases), seed: Number(values.seed), ...(values.path ? { path: values.path } : {}), endOnFailure: false },
    );
  } catch (err) {
    failure = err;
  }
  const fdGrowth = fdsOpenedSince(before);
  sub.unsubscribe();
  rmSync(dir, { recursive: true, force: true });
  console.log(`${device}: seed ${values.seed}: ${cases} case executions (incl. shrinking), rss start ${rssStart >> 20} MiB, max ${maxRss >> 20} MiB, fds grown over run: ${fdGrowth.length}`);
  console.log(`${device}: steps ${[...stepCounts].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if (values.verbose) console.log([...replyCounts].sort((a, b) => b[1] - a[1]).map(([k, v]) => `  ${v}\t${k}`).join('\n'));
  if (failure) {
    console.log(`${device}: FAILED\n${String((failure as Error).message).slice(0, 3000)}\n-- cause:\n${String(((failure as Error).cause as Error)?.message ?? (failure as Error).cause).slice(0, 8000)}`);
    process.exit(1);
  }
  console.log(`${device}: OK`);
  process.exit(0);
};
await main();
