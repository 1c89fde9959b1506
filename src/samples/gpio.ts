/**
 * The ACCES PCI-IDIO-16 (vendor 0x494f, device 0x0dc8): 16 FET outputs and 16 isolated inputs in an
 * I/O BAR (BAR 2), INTA#, with the card's own register map, so that Linux's stock
 * `gpio_pci_idio_16` driver reads and drives the right lines.
 *
 * Registers (8-bit, at a stride of 4 for the two banks of 8 lines; other offsets read 0):
 *
 * | offset | read                             | write                             |
 * |--------|----------------------------------|-----------------------------------|
 * | 0x0    | outputs 0-7                      | outputs 0-7                       |
 * | 0x1    | inputs 0-7                       | clear the interrupt               |
 * | 0x2    | enable the interrupt (reads 0)   | disable the interrupt             |
 * | 0x3    | activate the input filters       | deactivate the input filters      |
 * | 0x4    | outputs 8-15                     | outputs 8-15                      |
 * | 0x5    | inputs 8-15                      | (none)                            |
 * | 0x6    | interrupt status                 | (none)                            |
 *
 * While the interrupt is enabled, a change of any input line sets the status (bit 0: a line of
 * 0-7 changed, bit 1: of 8-15, bit 2: an interrupt is pending) and raises INTx; writing 0x1 clears
 * it. Inputs are set from outside with `setInputs` (the lines the card would sense).
 */
import { BehaviorSubject, type Observable, Subject, distinctUntilChanged, map, merge, skip } from 'rxjs';
import { accessFold, ioBar, pciDevice, type Folded, type PciDevice, type RegionAccess } from '../server/index.js';
import type { SampleOptions } from './catalog.js';

/** Register offsets of the card. */
export const GpioReg = { OUT0_7: 0x0, IN0_7: 0x1, IRQ_CTL: 0x2, FILTER_CTL: 0x3, OUT8_15: 0x4, IN8_15: 0x5, IRQ_STATUS: 0x6 } as const;

/** IRQ_STATUS bits. */
export const GpioStatus = { LOW_BANK: 0x1, HIGH_BANK: 0x2, PENDING: 0x4 } as const;

/** The card, with its outside world: input lines to set and output lines to watch. */
export interface GpioDevice extends PciDevice {
  /** Drives the 16 input lines (bit n = line n). */
  setInputs(mask: number): void;
  /** The output lines, as the driver last wrote them (bit n = line n). */
  readonly outputs$: Observable<number>;
}

/** The card's state: a value of plain numbers, a new one per event. */
interface Card {
  readonly out: number;
  readonly in: number;
  readonly irqEnabled: boolean;
  readonly filters: boolean;
  readonly status: number;
}

/** What besides accesses and resets moves the card: its input lines, and a migrated state. */
type GpioEvent = { readonly kind: 'inputs'; readonly value: number } | { readonly kind: 'load'; readonly card: Omit<Card, 'in'> };

/** The card, and whether the step that made it raised INTx. */
interface GpioState {
  readonly card: Card;
  readonly irq: boolean;
}

const initialCard = (inputs: number): Card => ({ out: 0, in: inputs, irqEnabled: false, filters: false, status: 0 });

/** A card with some fields changed, built as one literal (an object spread per register access cost 17% of a posted write). */
const changed = (c: Card, d: Partial<Card>): Card => ({
  out: d.out ?? c.out,
  in: d.in ?? c.in,
  irqEnabled: d.irqEnabled ?? c.irqEnabled,
  filters: d.filters ?? c.filters,
  status: d.status ?? c.status,
});

/** One register's value. */
const readValue = (c: Card, offset: number): number => {
  switch (offset) {
    case GpioReg.OUT0_7:
      return c.out & 0xff;
    case GpioReg.IN0_7:
      return c.in & 0xff;
    case GpioReg.OUT8_15:
      return c.out >> 8;
    case GpioReg.IN8_15:
      return c.in >> 8;
    case GpioReg.IRQ_STATUS:
      return c.status;
    default:
      return 0;
  }
};

/** The card after reading a register: reading IRQ_CTL enables the interrupt, FILTER_CTL the filters. */
const afterRead = (c: Card, offset: number): Card =>
  offset === GpioReg.IRQ_CTL && !c.irqEnabled ? changed(c, { irqEnabled: true }) : offset === GpioReg.FILTER_CTL && !c.filters ? changed(c, { filters: true }) : c;

/** One register write. */
const writeReg = (c: Card, offset: number, value: number): Card => {
  switch (offset) {
    case GpioReg.OUT0_7:
      return changed(c, { out: (c.out & 0xff00) | value });
    case GpioReg.IN0_7:
      return changed(c, { status: 0 });
    case GpioReg.IRQ_CTL:
      return changed(c, { irqEnabled: false });
    case GpioReg.FILTER_CTL:
      return changed(c, { filters: false });
    case GpioReg.OUT8_15:
      return changed(c, { out: (c.out & 0x00ff) | (value << 8) });
    default:
      return c;
  }
};

/** An access, byte by byte (each byte a register, with its side effects, in address order). */
const access = (s: GpioState, a: RegionAccess): Folded<GpioState> => {
  const c = s.card;
  let card = c;
  if (a.kind === 'write') {
    for (let i = 0; i < a.data.length; i++) card = writeReg(card, a.offset + i, a.data[i]!);
    return { state: { card, irq: false }, result: { access: a } };
  }
  const data = Buffer.allocUnsafe(a.count);
  for (let i = 0; i < a.count; i++) {
    data[i] = readValue(card, a.offset + i);
    card = afterRead(card, a.offset + i);
  }
  // A read that changed nothing keeps the state as it was: it allocates only its answer.
  return { state: card === c && !s.irq ? s : { card, irq: false }, result: { access: a, data } };
};

/** New input lines: a change while the interrupt is enabled sets the status and raises INTx. */
const setInputs = (c: Card, value: number): GpioState => {
  const lines = c.in ^ value;
  const fires = c.irqEnabled && lines !== 0;
  const status = fires ? c.status | GpioStatus.PENDING | (lines & 0xff ? GpioStatus.LOW_BANK : 0) | (lines & 0xff00 ? GpioStatus.HIGH_BANK : 0) : c.status;
  return { card: changed(c, { in: value, status }), irq: fires };
};

/** The latest card and a way to load one (for migration). */
interface Snapshot {
  card: Card;
  readonly loads: Subject<Omit<Card, 'in'>>;
}

/** BAR 2's handler: the card as a fold over its accesses, the input lines, resets and migrated states. */
const registers = (inputs: BehaviorSubject<number>, outputs: BehaviorSubject<number>, snapshot: Snapshot) =>
  accessFold<GpioState, GpioEvent>({
    seed: () => ({ card: initialCard(inputs.value), irq: false }),
    access,
    // Everything goes back to power-on; the input lines are the outside world's and stay.
    reset: (s) => ({ card: initialCard(s.card.in), irq: false }),
    event: (s, e) =>
      e.kind === 'inputs'
        ? setInputs(s.card, e.value)
        : // A migrated state: the registers as the source had them, the input lines as they are here.
          { card: changed(s.card, e.card), irq: false },
    events: () =>
      merge(
        inputs.pipe(skip(1), map((value): GpioEvent => ({ kind: 'inputs', value }))),
        snapshot.loads.pipe(map((card): GpioEvent => ({ kind: 'load', card }))),
      ),
    effects: (s, ctx) => {
      snapshot.card = s.card;
      if (s.card.out !== outputs.value) outputs.next(s.card.out);
      if (s.irq) ctx.trigger('intx');
    },
  });

/** Migration data: outputs (u16), interrupt enabled, filters active, status; 8 bytes. */
const STATE_BYTES = 8;

const saveCard = (c: Card): Buffer => {
  const b = Buffer.alloc(STATE_BYTES);
  b.writeUInt16LE(c.out, 0);
  b[2] = c.irqEnabled ? 1 : 0;
  b[3] = c.filters ? 1 : 0;
  b[4] = c.status;
  return b;
};

const loadCard = (b: Buffer): Omit<Card, 'in'> => {
  if (b.length !== STATE_BYTES) throw new Error(`gpio state is ${STATE_BYTES} bytes, got ${b.length}`);
  return { out: b.readUInt16LE(0), irqEnabled: b[2] === 1, filters: b[3] === 1, status: b[4]! & 0x7 };
};

/** Creates the card (with the PCI-IDIO-16's ids unless you give others: the stock driver binds to those). */
export const gpioDevice = (options: SampleOptions = {}): GpioDevice => {
  const inputs = new BehaviorSubject(0);
  const outputs = new BehaviorSubject(0);
  const snapshot: Snapshot = { card: initialCard(0), loads: new Subject() };
  const device = pciDevice({
    name: 'gpio',
    ids: { vendorId: 0x494f, deviceId: 0x0dc8, ...options.ids, classCode: 0x088000 },
    interruptPin: 1,
    bars: { 2: ioBar(256, registers(inputs, outputs, snapshot)) },
    // Its state is the card's registers (the input lines excepted: they are the outside world's).
    migration: {
      save: () => saveCard(snapshot.card),
      load: (data) => snapshot.loads.next(loadCard(data)),
    },
  });
  return {
    ...device,
    setInputs: (mask) => inputs.next(mask & 0xffff),
    outputs$: outputs.pipe(distinctUntilChanged()),
  };
};
