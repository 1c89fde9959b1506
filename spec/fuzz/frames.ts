/**
 * fast-check generators of hostile vfio-user traffic: messages laid out field by field as the spec
 * has them, filled with boundary values, then mutated (header fields, sizes, cut and extended
 * payloads), split into arbitrary chunks, with fds of every kind attached.
 */
import fc from 'fast-check';
import { Command, HeaderFlags, MessageType } from '../../src/protocol/constants.js';

/** An fd a step attaches: made by the harness when the step runs. */
export type FdKind = 'eventfd' | 'memfd' | 'memfd-small';

/** Numbers that tend to find bugs in 32-bit fields. */
const u32 = fc.oneof(
  fc.constantFrom(0, 1, 2, 3, 4, 7, 8, 16, 20, 24, 32, 0x100, 0xfff, 0x1000, 0x1001, 0x10000, 0x100000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff),
  fc.nat({ max: 0x2000 }),
  fc.integer({ min: 0, max: 0xffffffff }),
);

/** The same for 64-bit fields, as bigint. */
const u64 = fc.oneof(
  u32.map(BigInt),
  fc.constantFrom(0x1_0000_0000n, 0x1f_ffff_ffff_ffffn, 0x20_0000_0000_0000n, 0x7fff_ffff_ffff_ffffn, 0xffff_ffff_ffff_f000n, 0xffff_ffff_ffff_ffffn),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
);

/** Small indexes (regions, IRQ types) are where the interesting answers are. */
const index = fc.oneof(fc.nat({ max: 12 }), u32);

type Field = fc.Arbitrary<Buffer>;
const le32 = (a: fc.Arbitrary<number>): Field => a.map((v) => { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); return b; });
const le64 = (a: fc.Arbitrary<bigint>): Field => a.map((v) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(v); return b; });
const bytes = (max: number): Field => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
const fields = (...parts: Field[]): Field => fc.tuple(...parts).map((p) => Buffer.concat(p));

const capabilityJson = fc.oneof(
  fc.record(
    {
      max_msg_fds: fc.oneof(fc.nat(300), fc.constant(-1), fc.constant(1.5), fc.constant('8')),
      max_data_xfer_size: fc.oneof(fc.nat(1 << 22), fc.constant(0)),
      max_dma_maps: fc.nat(70000),
      pgsizes: fc.constantFrom(0, 4096, 8192, 4095, 0x3000),
      twin_socket: fc.record({ supported: fc.boolean(), fd_index: fc.integer({ min: -1, max: 3 }) }, { requiredKeys: [] }),
      write_multiple: fc.oneof(fc.boolean(), fc.constant('yes')),
      migration: fc.record({ pgsize: fc.nat(8192), max_bitmap_size: fc.nat() }, { requiredKeys: [] }),
    },
    { requiredKeys: [] },
  ).map((capabilities) => JSON.stringify({ capabilities })),
  fc.json(),
  fc.string({ maxLength: 40 }),
);

/** A VERSION payload: major, minor, JSON with or without its NUL (or garbage). */
export const versionPayload = fc
  .tuple(fc.oneof(fc.constant(0), fc.nat(3)), fc.nat(4), fc.option(capabilityJson, { nil: undefined }), fc.boolean())
  .map(([major, minor, json, nul]) => {
    const head = Buffer.alloc(4);
    head.writeUInt16LE(major, 0);
    head.writeUInt16LE(minor, 2);
    return Buffer.concat([head, json === undefined ? Buffer.alloc(0) : Buffer.from(json + (nul ? '\0' : ''))]);
  });

/** A well-formed VERSION payload as QEMU sends it. */
export const goodVersion = (): Buffer => {
  const json = '{"capabilities":{"max_msg_fds":16,"max_data_xfer_size":1048576,"pgsizes":4096,"max_dma_maps":65535,"write_multiple":true}}\0';
  const head = Buffer.alloc(4);
  head.writeUInt16LE(0, 0);
  head.writeUInt16LE(2, 2);
  return Buffer.concat([head, Buffer.from(json)]);
};

/** Payloads of each command, field by field as the spec lays them out, plus trailing bytes. */
const payloads: Record<number, Field> = {
  [Command.VERSION]: versionPayload,
  [Command.DMA_MAP]: fields(le32(u32), le32(u32), le64(u64), le64(u64), le64(u64)),
  [Command.DMA_UNMAP]: fields(le32(u32), le32(u32), le64(u64), le64(u64), bytes(24)),
  [Command.DEVICE_GET_INFO]: fields(le32(u32), le32(u32), le32(u32), le32(u32)),
  [Command.DEVICE_GET_REGION_INFO]: fields(le32(u32), le32(u32), le32(index), le32(u32), le64(u64), le64(u64)),
  [Command.DEVICE_GET_REGION_IO_FDS]: fields(le32(u32), le32(u32), le32(index), le32(u32)),
  [Command.DEVICE_GET_IRQ_INFO]: fields(le32(u32), le32(u32), le32(index), le32(u32)),
  [Command.DEVICE_SET_IRQS]: fields(le32(u32), le32(u32), le32(index), le32(u32), le32(u32), bytes(16)),
  [Command.REGION_READ]: fields(le64(u64), le32(index), le32(u32)),
  [Command.REGION_WRITE]: fields(le64(u64), le32(index), le32(u32), bytes(64)),
  [Command.DMA_READ]: fields(le64(u64), le64(u64), bytes(32)),
  [Command.DMA_WRITE]: fields(le64(u64), le64(u64), bytes(32)),
  [Command.DEVICE_RESET]: bytes(8),
  [Command.REGION_WRITE_MULTI]: fields(le64(fc.bigInt({ min: 0n, max: 10n })), bytes(200)),
  [Command.DEVICE_FEATURE]: fields(le32(u32), le32(u32), bytes(48)),
  [Command.MIG_DATA_READ]: fields(le32(u32), le32(u32), le64(u64)),
  [Command.MIG_DATA_WRITE]: fields(le32(u32), le32(u32), le64(u64), bytes(32)),
};

/** A message on the wire: header (with possibly lying fields) and payload. */
export interface WireMessage {
  readonly bytes: Buffer;
  readonly fds: readonly FdKind[];
}

const commandNumber = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...Object.values(Command)) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) },
);

/** How a message is spoiled after it is laid out. */
const mutation = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('size' as const), size: u32 }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cut' as const), keep: fc.nat(40) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.nat(80), bit: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('extend' as const), extra: bytes(64) }) },
);

/** A header with whatever fields it is given, true or not. */
export const header = (id: number, command: number, size: number, flags: number, error: number): Buffer => {
  const h = Buffer.alloc(16);
  h.writeUInt16LE(id, 0);
  h.writeUInt16LE(command, 2);
  h.writeUInt32LE(size >>> 0, 4);
  h.writeUInt32LE(flags >>> 0, 8);
  h.writeUInt32LE(error >>> 0, 12);
  return h;
};

const flagsArb = fc.oneof(
  { weight: 6, arbitrary: fc.constant(MessageType.COMMAND) },
  { weight: 1, arbitrary: fc.constant(MessageType.COMMAND | HeaderFlags.NO_REPLY) },
  { weight: 1, arbitrary: fc.constantFrom(MessageType.REPLY, MessageType.REPLY | HeaderFlags.ERROR, 0xf, 0xffffffff) },
);

/** A command as a client might send it: laid out, then perhaps spoiled. */
export const commandMessage: fc.Arbitrary<WireMessage> = fc
  .tuple(commandNumber, fc.nat(0xffff), flagsArb, mutation, fc.array(fc.constantFrom<FdKind>('eventfd', 'memfd', 'memfd-small'), { maxLength: 3 }), fc.nat(20))
  .chain(([command, id, flags, mut, fds, fdChance]) =>
    (payloads[command] ?? bytes(48)).map((payload): WireMessage => {
      let body = payload;
      let size = 16 + body.length;
      if (mut.kind === 'extend') body = Buffer.concat([body, mut.extra]);
      if (mut.kind === 'extend') size = 16 + body.length;
      if (mut.kind === 'cut') body = body.subarray(0, Math.min(body.length, mut.keep));
      if (mut.kind === 'cut') size = 16 + body.length;
      if (mut.kind === 'size') size = mut.size;
      const raw = Buffer.concat([header(id, command, size, flags, 0), body]);
      if (mut.kind === 'flip' && mut.at < raw.length) raw[mut.at] ^= 1 << mut.bit;
      // fds are rare on commands that take none, common on DMA_MAP and SET_IRQS.
      const takesFds = command === Command.DMA_MAP || command === Command.DEVICE_SET_IRQS;
      return { bytes: raw, fds: takesFds || fdChance < 2 ? fds : [] };
    }),
  );

/** A message whose header is right and whose fields are all that is hostile (it keeps the stream in frame). */
export const framedCommand: fc.Arbitrary<WireMessage> = fc
  .tuple(fc.constantFrom(...Object.values(Command)), fc.nat(0xffff))
  .chain(([command, id]) => payloads[command]!.map((body) => ({ bytes: Buffer.concat([header(id, command, 16 + body.length, 0, 0), body]), fds: [] as FdKind[] })));

/** The cut points of a message sent in pieces (each piece one write). */
export const splits = fc.array(fc.nat(200), { maxLength: 3 });

/** Splits bytes at the given points (clamped and sorted). */
export const pieces = (bytes: Buffer, cuts: readonly number[]): Buffer[] => {
  const points = [...new Set(cuts.map((c) => Math.min(c, bytes.length)))].filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b);
  const out: Buffer[] = [];
  let at = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(at, p));
    at = p;
  }
  return out.filter((b) => b.length > 0);
};

/** One step of a hostile client's conversation. */
export type Step =
  | { readonly kind: 'send'; readonly message: WireMessage; readonly cuts: readonly number[] }
  | { readonly kind: 'close-mid-message'; readonly message: WireMessage; readonly keep: number }
  | { readonly kind: 'shrink-memfds' }
  | { readonly kind: 'pause' };

export const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ kind: fc.constant('send' as const), message: commandMessage, cuts: splits }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('send' as const), message: framedCommand, cuts: fc.constant([]) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('close-mid-message' as const), message: commandMessage, keep: fc.nat(60) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'shrink-memfds' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'pause' as const }) },
);

/** A hostile client: whether it starts with a good VERSION, then its steps. */
export interface ClientScript {
  readonly handshake: boolean;
  readonly steps: readonly Step[];
}

export const clientScript: fc.Arbitrary<ClientScript> = fc.record({
  handshake: fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  steps: fc.array(step, { minLength: 1, maxLength: 8 }),
});
