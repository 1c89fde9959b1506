// libvfio-user's samples/server, written with this framework, so that libvfio-user's own
// samples/client runs to its end against it, live migration included: the client migrates the
// device from this server to a C samples/server it starts itself, so the migration data has the C
// sample's layout byte for byte.
//
// Serve: node bin/vfio-user.js serve examples/libvfio-user-server.ts --socket-path /tmp/lvu.sock
// Then:  libvfio-user/build/samples/client /tmp/lvu.sock
//
// The device (samples/server.c, in the shape of libvfio-user PR #872):
// - ids dead:beef, subsystem cafe:babe; INTx (1 vector), ERR and REQ.
// - BAR 0, 8 bytes: a time_t. A write stores it and, while the device runs, arms a timer for that
//   absolute time (in whole seconds, as setitimer is); a read answers now - stored. Any access
//   that is not the whole 8 bytes is EINVAL.
// - BAR 1, 16 KiB of RAM behind a memfd the client may mmap in two areas, [0, 4K) and [12K, 16K)
//   (the middle pages go by REGION_READ/WRITE). It is a memory BAR here: libvfio-user makes it an
//   I/O BAR, which PCI (and this framework) allows only up to 256 bytes. Nothing the client checks.
// - When the timer fires: INTx, then DMA to the second DMA region the client mapped (through the
//   mapping, so the server logs the page dirty) and to the first (by DMA_WRITE/DMA_READ messages,
//   so the client logs it), each 4 writes of 1 KiB read back as 2 reads of 2 KiB, CRCs compared.
// - Migration with PRE_COPY: pre-copy sends BAR 1 (16 KiB); stop-and-copy sends BAR 1 then the
//   8-byte BAR 0 value (16392 bytes), a raw stream with no framework records: the C server loads it.
import {
  EMPTY,
  Subject,
  catchError,
  concat,
  concatMap,
  defer,
  filter,
  from,
  ignoreElements,
  map,
  merge,
  range,
  scan,
  share,
  switchMap,
  tap,
  timer,
  toArray,
  withLatestFrom,
  type Observable,
} from 'rxjs';
import {
  ioBar,
  pciDevice,
  protocol,
  ramBar,
  server,
  type AccessResult,
  type DeviceContext,
  type PciDevice,
} from 'vfio-user-rx';

type RegionAccess = server.RegionAccess;
type DmaRange = server.DmaRange;
type GuestAccess = Omit<server.GuestMemory, 'byMessage'>;

/** BAR 1's size and its mmap-able areas (PR #872's samples/server). */
export const BAR1_SIZE = 0x4000;
export const BAR1_SPARSE = [
  { offset: 0x0, size: 0x1000 },
  { offset: 0x3000, size: 0x1000 },
] as const;
/** sizeof(time_t) on Linux x86-64 and aarch64: BAR 0's size and its part of the migration data. */
const TIME_T = 8;
/** do_dma_io: 4 writes of 1 KiB, read back 2 KiB at a time. */
const DMA_CHUNK = 1024;
const DMA_CHUNKS = 4;

// ---- CRC-32C, as DPDK's rte_hash_crc(buf, len, 0) computes it (no final inversion) ----

const CRC32C_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  return c >>> 0;
});

/** CRC-32C of `data` from `init`: the checksum samples/server compares its DMA with. */
export const crc32c = (data: Buffer, init = 0): number => {
  let c = init >>> 0;
  for (const byte of data) c = (CRC32C_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8)) >>> 0;
  return c;
};

// ---- BAR 0: the time register and the timer it arms, as a fold ----

/** Where the device is, as server.c's migration.state sees it: only RUNNING arms the timer on a write. */
type Phase = 'running' | 'pre-copy' | 'stopped';

type Bar0Event =
  | { readonly kind: 'access'; readonly access: RegionAccess; readonly nowSec: bigint }
  | { readonly kind: 'phase'; readonly phase: Phase }
  | { readonly kind: 'load'; readonly bar0: bigint };

interface Bar0State {
  readonly bar0: bigint;
  readonly phase: Phase;
  readonly result?: AccessResult;
  /** A timer change: arm for that absolute time (seconds since the epoch), or 'off'. */
  readonly alarm?: bigint | 'off';
}

const int64 = (value: bigint): Buffer => {
  const out = Buffer.alloc(TIME_T);
  out.writeBigInt64LE(value);
  return out;
};

const einval = (access: RegionAccess): AccessResult => {
  const count = access.kind === 'read' ? access.count : access.data.length;
  const why = `bad BAR0 access 0x${access.offset.toString(16)}+${count}: only the whole 8-byte time_t`;
  return { access, error: new server.DeviceError(protocol.Errno.EINVAL, why) };
};

/** bar0_access and the migration transitions of server.c, without the timer's effect. */
const bar0Step = (s: Bar0State, e: Bar0Event): Bar0State => {
  switch (e.kind) {
    case 'phase':
      // STOP_AND_COPY disables the timer; RUNNING arms it again from the stored time.
      return { bar0: s.bar0, phase: e.phase, alarm: e.phase === 'stopped' ? 'off' : e.phase === 'running' ? s.bar0 : undefined };
    case 'load':
      return { bar0: e.bar0, phase: s.phase };
    case 'access': {
      const a = e.access;
      if (a.offset !== 0 || (a.kind === 'read' ? a.count : a.data.length) !== TIME_T) return { bar0: s.bar0, phase: s.phase, result: einval(a) };
      if (a.kind === 'read') return { bar0: s.bar0, phase: s.phase, result: { access: a, data: int64(e.nowSec - s.bar0) } };
      const bar0 = a.data.readBigInt64LE(0);
      return { bar0, phase: s.phase, result: { access: a }, alarm: s.phase === 'running' ? bar0 : undefined };
    }
  }
};

/** Milliseconds until `at` as setitimer counts them (whole seconds); undefined disarms, as a zero it_value does. */
const alarmDelay = (at: bigint | 'off', nowSec: bigint): number | undefined => (at === 'off' || at <= nowSec ? undefined : Number(at - nowSec) * 1000);

const nowSec = (): bigint => BigInt(Math.floor(Date.now() / 1000));

// ---- DMA regions by registration slot, as server.c's dma_register/dma_unregister keep them ----

const sameRange = (a: DmaRange, b: DmaRange): boolean => a.iova === b.iova && a.size === b.size;

/**
 * server.c's regions[]: a range the client unmapped frees its slot, a new one takes the first
 * free slot. The device addresses "region 0" and "region 1" by slot, not by address.
 */
export const dmaSlots = (slots: readonly (DmaRange | undefined)[], now: readonly DmaRange[]): (DmaRange | undefined)[] => {
  const kept = slots.map((r) => (r && now.some((n) => sameRange(n, r)) ? r : undefined));
  for (const r of now) {
    if (kept.some((k) => k !== undefined && sameRange(k, r))) continue;
    const free = kept.indexOf(undefined);
    if (free < 0) kept.push(r);
    else kept[free] = r;
  }
  return kept;
};

/** do_dma_io: 4 KiB written in 1 KiB pieces ('A'..'D'), read back in 2 KiB pieces, CRCs compared. */
const dmaIo = (memory: GuestAccess, base: number, how: string): Observable<never> =>
  defer(() => {
    const written = Buffer.concat(Array.from({ length: DMA_CHUNKS }, (_, i) => Buffer.alloc(DMA_CHUNK, 0x41 + i)));
    const writes$ = range(0, DMA_CHUNKS).pipe(concatMap((i) => memory.write(base + i * DMA_CHUNK, written.subarray(i * DMA_CHUNK, (i + 1) * DMA_CHUNK))));
    const reads$ = from([0, 2]).pipe(
      concatMap((i) => memory.read(base + i * DMA_CHUNK, 2 * DMA_CHUNK)),
      toArray(),
      map((pieces) => Buffer.concat(pieces)),
    );
    return concat(writes$.pipe(ignoreElements()), reads$).pipe(
      tap((read) => {
        if (crc32c(read) !== crc32c(written)) throw new Error(`${how} DMA at 0x${base.toString(16)}: write and read mismatch`);
      }),
      ignoreElements(),
    );
  });

/** What the timer does when it fires (the end of server.c's main loop): INTx, then DMA to slots 1 and 0. */
const onAlarm = (ctx: DeviceContext, slots: readonly (DmaRange | undefined)[]): Observable<never> =>
  defer(() => {
    ctx.trigger('intx');
    const [first, second] = slots;
    if (!first || !second) throw new Error('the timer fired with fewer than two DMA regions mapped');
    // Slot 1 through our mapping (the server logs the page dirty), slot 0 by messages (the client logs it).
    return concat(dmaIo(ctx.dma, second.iova, 'DIRECT'), dmaIo(ctx.dma.byMessage, first.iova, 'MESSAGE'));
  }).pipe(
    catchError((err: unknown) => {
      // server.c exits here; a served device reports it and keeps serving.
      console.error(`libvfio-user-server: ${(err as Error)?.message ?? String(err)}`);
      return EMPTY;
    }),
  );

/** The migration side's view of BAR 0: its latest value, and the way to tell it phases and loads. */
interface Bar0Link {
  bar0: bigint;
  readonly events: Subject<Bar0Event>;
}

/** BAR 0's handler: the register fold, and the timer it arms (subscribed for the device's life). */
const bar0Handler =
  (link: Bar0Link) =>
  (access$: Observable<RegionAccess>, ctx: DeviceContext): Observable<AccessResult> =>
    defer(() => {
      const state$ = merge(access$.pipe(map((access): Bar0Event => ({ kind: 'access', access, nowSec: nowSec() }))), link.events).pipe(
        scan(bar0Step, { bar0: 0n, phase: 'running' }),
        tap((s) => (link.bar0 = s.bar0)),
        share(),
      );
      const slots$ = ctx.mappings$.pipe(scan(dmaSlots, [] as (DmaRange | undefined)[]));
      const alarms$ = state$.pipe(
        filter((s): s is Bar0State & { alarm: bigint | 'off' } => s.alarm !== undefined),
        // A new setitimer replaces the previous one; a firing's DMA is not cut short by it.
        switchMap((s) => {
          const delay = alarmDelay(s.alarm, nowSec());
          return delay === undefined ? EMPTY : timer(delay);
        }),
        withLatestFrom(slots$),
        concatMap(([, slots]) => onAlarm(ctx, slots)),
      );
      const results$ = state$.pipe(
        map((s) => s.result),
        filter((r): r is AccessResult => r !== undefined),
      );
      return merge(results$, alarms$);
    });

// ---- migration data: samples/server's layout ----

/** The stop-and-copy image: BAR 1, then BAR 0's time_t (migration_read_data in STOP_AND_COPY). */
const image = (bar1: Buffer, bar0: bigint): Buffer => Buffer.concat([Buffer.from(bar1), int64(bar0)]);

/**
 * The state to load from what RESUMING received: the last stop-and-copy image. samples/client sends
 * the destination only that image; a client that forwards the pre-copy rounds too (this project's
 * migrate$) sends whole BAR 1 images before it, which the final image supersedes (server.c: copying
 * BAR 1 in pre-copy "is pointless" since stop-and-copy copies it again).
 */
export const finalImage = (data: Buffer): { readonly bar1: Buffer; readonly bar0: bigint } => {
  const size = BAR1_SIZE + TIME_T;
  if (data.length < size || (data.length - size) % BAR1_SIZE !== 0) {
    throw new Error(`migration data of ${data.length} bytes: expected BAR1 images of ${BAR1_SIZE} bytes, then ${size} bytes of BAR1 and BAR0`);
  }
  const last = data.subarray(data.length - size);
  return { bar1: last.subarray(0, BAR1_SIZE), bar0: last.readBigInt64LE(BAR1_SIZE) };
};

/** libvfio-user's samples/server as a PciDevice. */
export const libvfioUserServer = (): PciDevice => {
  const link: Bar0Link = { bar0: 0n, events: new Subject<Bar0Event>() };
  const phase = (p: Phase) => link.events.next({ kind: 'phase', phase: p });
  return pciDevice({
    name: 'libvfio-user-server',
    ids: { vendorId: 0xdead, deviceId: 0xbeef, subsystemVendorId: 0xcafe, subsystemId: 0xbabe, classCode: 0 },
    interruptPin: 1,
    bars: {
      0: ioBar(TIME_T, bar0Handler(link)),
      1: ramBar(BAR1_SIZE, { sparse: BAR1_SPARSE }),
    },
    migration: {
      preCopy: true,
      raw: true,
      save: (p, ctx) => {
        if (p === 'pre-copy') {
          // Entering PRE_COPY: BAR 0 writes no longer arm the timer (server.c's state is not RUNNING).
          phase('pre-copy');
          return Buffer.from(ctx.ram(1));
        }
        return image(ctx.ram(1), link.bar0);
      },
      load: (data, ctx) => {
        const { bar1, bar0 } = finalImage(data);
        bar1.copy(ctx.ram(1));
        link.events.next({ kind: 'load', bar0 });
      },
      quiesce: () => phase('stopped'),
      resume: () => phase('running'),
    },
  });
};

export default libvfioUserServer;
