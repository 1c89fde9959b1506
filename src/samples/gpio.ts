/**
 * A 16-line GPIO card, after the ACCES PCI-IDIO-16 that libvfio-user's gpio sample imitates
 * (vendor 0x494f, device 0x0dc8). Its registers live in an I/O BAR (BAR 2, 256 bytes); INTA#.
 *
 * Register map (16-bit, little-endian; byte accesses work too; other offsets read 0):
 *
 * | offset | name | access | meaning                                                        |
 * |--------|------|--------|----------------------------------------------------------------|
 * | 0x0    | OUT  | RW     | output lines 0..15                                             |
 * | 0x2    | IN   | RO     | input lines 0..15 (set from outside with `setInputs`)          |
 * | 0x4    | ISR  | RW1C   | input lines that changed while enabled in IER                  |
 * | 0x6    | IER  | RW     | input lines whose change raises INTx                           |
 *
 * An input change on a line enabled in IER sets its ISR bit and raises INTx.
 */
import { BehaviorSubject, type Observable, Subject, defer, distinctUntilChanged, filter, map, merge, scan, skip, tap } from 'rxjs';
import { ioBar, pciDevice, type AccessResult, type DeviceContext, type PciDevice, type RegionAccess } from '../server/index.js';

/** Register offsets of the GPIO card. */
export const GpioReg = { OUT: 0x0, IN: 0x2, ISR: 0x4, IER: 0x6 } as const;

/** The GPIO card, with its outside world: input lines to set and output lines to watch. */
export interface GpioDevice extends PciDevice {
  /** Drives the 16 input lines (bit n = line n). */
  setInputs(mask: number): void;
  /** The output lines, as the driver last wrote them. */
  readonly outputs$: Observable<number>;
}

const REGS = 8;
/** Per byte of the register file: bits the guest writes, and bits it clears by writing 1. */
const WRITABLE = [0xff, 0xff, 0, 0, 0, 0, 0xff, 0xff];
const RW1C = [0, 0, 0, 0, 0xff, 0xff, 0, 0];

type GpioEvent =
  | { readonly kind: 'access'; readonly access: RegionAccess }
  | { readonly kind: 'inputs'; readonly value: number }
  | { readonly kind: 'reset' }
  | { readonly kind: 'load'; readonly regs: Buffer };

interface GpioState {
  readonly regs: Buffer;
  /** The answer to the access just served. */
  readonly result?: AccessResult;
  /** Whether the last event raised INTx. */
  readonly irq: boolean;
}

const read = (regs: Buffer, offset: number, count: number): Buffer => {
  const out = Buffer.alloc(count);
  regs.copy(out, 0, Math.min(offset, REGS), Math.min(offset + count, REGS));
  return out;
};

/** A copy of the register file (the fold's snapshots are never changed in place). */
const copyRegs = (regs: Buffer): Buffer => {
  const next = Buffer.allocUnsafe(REGS);
  for (let i = 0; i < REGS; i++) next[i] = regs[i]!;
  return next;
};

const write = (regs: Buffer, offset: number, data: Buffer): Buffer => {
  const next = copyRegs(regs);
  const end = Math.min(offset + data.length, REGS);
  for (let at = offset; at < end; at++) {
    const v = data[at - offset]!;
    next[at] = ((next[at]! & ~WRITABLE[at]!) | (v & WRITABLE[at]!)) & ~(v & RW1C[at]!) & 0xff;
  }
  return next;
};

const setInputs = (regs: Buffer, value: number): GpioState => {
  const next = copyRegs(regs);
  const fired = (regs.readUInt16LE(GpioReg.IN) ^ value) & regs.readUInt16LE(GpioReg.IER);
  next.writeUInt16LE(value, GpioReg.IN);
  next.writeUInt16LE(regs.readUInt16LE(GpioReg.ISR) | fired, GpioReg.ISR);
  return { regs: next, irq: fired !== 0 };
};

/** The register file as a fold over accesses, input changes and resets. */
const step = (s: GpioState, e: GpioEvent): GpioState => {
  switch (e.kind) {
    case 'inputs':
      return setInputs(s.regs, e.value);
    case 'reset': {
      // Registers go back to 0; the input lines are the outside world's and stay.
      const regs = Buffer.alloc(REGS);
      regs.writeUInt16LE(s.regs.readUInt16LE(GpioReg.IN), GpioReg.IN);
      return { regs, irq: false };
    }
    case 'load':
      // A migrated state: the registers as the source had them, the input lines as they are here.
      return setInputs(e.regs, s.regs.readUInt16LE(GpioReg.IN));
    case 'access': {
      const a = e.access;
      if (a.kind === 'read') return { regs: s.regs, irq: false, result: { access: a, data: read(s.regs, a.offset, a.count) } };
      return { regs: write(s.regs, a.offset, a.data), irq: false, result: { access: a } };
    }
  }
};

/** The register file's latest value and a way to load one (for migration). */
interface Snapshot {
  regs: Buffer;
  readonly loads: Subject<Buffer>;
}

/** The BAR's handler: an operator over its accesses, merged with the input lines, resets and migrated states. */
const registers =
  (inputs: BehaviorSubject<number>, outputs: BehaviorSubject<number>, snapshot: Snapshot) =>
  (access$: Observable<RegionAccess>, ctx: DeviceContext): Observable<AccessResult> =>
    defer(() => {
      const seed = Buffer.alloc(REGS);
      seed.writeUInt16LE(inputs.value, GpioReg.IN);
      snapshot.regs = seed;
      const state$ = merge(
        access$.pipe(map((access): GpioEvent => ({ kind: 'access', access }))),
        inputs.pipe(skip(1), map((value): GpioEvent => ({ kind: 'inputs', value }))),
        ctx.reset$.pipe(
          filter((r) => r !== 'disconnect'),
          map((): GpioEvent => ({ kind: 'reset' })),
        ),
        snapshot.loads.pipe(map((regs): GpioEvent => ({ kind: 'load', regs }))),
      ).pipe(
        scan(step, { regs: seed, irq: false }),
        tap((s) => {
          snapshot.regs = s.regs;
          const out = s.regs.readUInt16LE(GpioReg.OUT);
          if (out !== outputs.value) outputs.next(out);
          if (s.irq) ctx.trigger('intx');
        }),
      );
      return state$.pipe(
        map((s) => s.result),
        filter((r): r is AccessResult => r !== undefined),
      );
    });

/** Creates a GPIO card. */
export const gpioDevice = (): GpioDevice => {
  const inputs = new BehaviorSubject(0);
  const outputs = new BehaviorSubject(0);
  const snapshot: Snapshot = { regs: Buffer.alloc(REGS), loads: new Subject<Buffer>() };
  const device = pciDevice({
    name: 'gpio',
    ids: { vendorId: 0x494f, deviceId: 0x0dc8, classCode: 0x088000 },
    interruptPin: 1,
    bars: { 2: ioBar(256, registers(inputs, outputs, snapshot)) },
    // Its state is the 8-byte register file (inputs excepted: they are the outside world's).
    migration: {
      save: () => Buffer.from(snapshot.regs),
      load: (data) => {
        if (data.length !== REGS) throw new Error(`gpio state is ${REGS} bytes, got ${data.length}`);
        snapshot.loads.next(Buffer.from(data));
      },
    },
  });
  return {
    ...device,
    setInputs: (mask) => inputs.next(mask & 0xffff),
    outputs$: outputs.pipe(distinctUntilChanged()),
  };
};
