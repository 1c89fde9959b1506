import { firstValueFrom, lastValueFrom, map, type Observable } from 'rxjs';
import type { Sink } from './call.js';
import type { ClientDevice } from './device.js';
import { eagerValuesFrom } from './eager.js';
import type { InterruptSignal } from './interrupts.js';
import type { ClientOptions } from './options.js';
import { migrate$, type MigrateOptions, type MigrationProgress } from './migrate.js';
import { realize$ } from './realize.js';
import type { ClientRegion, WriteOptions } from './region-access.js';

// The device's surface is defined once, by ClientDevice. The Promise facade is derived from it: the
// table below says how each Observable member is awaited, the types follow from the table, and
// every other member is passed through. A member added to ClientDevice appears here by itself (a
// new Observable member must be given its adapter, or the `satisfies` below fails to compile).

/** How the facade turns an Observable member of ClientDevice into something to `await`. */
type Adapter =
  /** a method whose Observable only completes: a Promise<void> */
  | 'done'
  /** a method whose Observable emits one value: a Promise of it */
  | 'first'
  /** a stream property ending in `$`: a method returning an async iterator over it from now on */
  | 'each'
  /** a stream property ending in `$` that emits once (replayed): a method returning a Promise of it */
  | 'once'
  /** the interrupt stream: as 'each', each signal's `ack` awaited */
  | 'signals';

const adapters = {
  fence: 'done',
  enableInterrupts: 'done',
  disableInterrupts: 'done',
  maskInterrupts: 'done',
  unmaskInterrupts: 'done',
  triggerInterrupt: 'done',
  reset: 'done',
  close: 'done',
  setMigrationState: 'done',
  writeMigrationData: 'done',
  stopDirtyLogging: 'done',
  dmaSettled: 'first',
  migrationFeatures: 'first',
  probeFeatures: 'first',
  migrationState: 'first',
  readMigrationData: 'first',
  startDirtyLogging: 'first',
  dirtyBitmap: 'first',
  interrupts$: 'signals',
  dmaCommits$: 'each',
  trace$: 'each',
  reconnects$: 'each',
  closed$: 'once',
} as const satisfies { readonly [K in ObservableMembers<ClientDevice>]: Adapter };

/** Members of T that are Observables or return one. */
type ObservableMembers<T> = {
  [K in keyof T]: T[K] extends Observable<unknown> ? K : T[K] extends (...args: never[]) => Observable<unknown> ? K : never;
}[keyof T];

type Adapted<T, A> = A extends 'done'
  ? T extends (...args: infer P) => Observable<unknown> ? (...args: P) => Promise<void> : never
  : A extends 'first'
    ? T extends (...args: infer P) => Observable<infer V> ? (...args: P) => Promise<V> : never
    : A extends 'each'
      ? T extends Observable<infer V> ? () => AsyncIterableIterator<V> : never
      : A extends 'signals'
        ? () => AsyncIterableIterator<Interrupt>
        : T extends Observable<infer V> ? () => Promise<V> : never;

/** `name$` becomes `name`: the facade's method that awaits the stream. */
type Unsuffixed<K> = K extends `${infer N}$` ? N : K;

/** An interrupt as delivered by the Promise facade: InterruptSignal with `ack` awaited. */
export type Interrupt = Omit<InterruptSignal, 'ack'> & {
  /** Unmasks an automasked vector (INTx); resolves at once for the others. */
  ack(): Promise<void>;
};

/** A region of an opened device: ClientRegion with `read` and `write` awaited. */
export type Region = Pick<ClientRegion, 'index' | 'info' | 'areas' | 'posted'> & {
  /** Reads `count` bytes at `offset` (by mmap when the range lies in a mapped area). */
  read(offset: number, count: number): Promise<Buffer>;
  /** Writes `data` at `offset`; resolves once written (posted: once handed to the socket). */
  write(offset: number, data: Buffer, options?: WriteOptions): Promise<void>;
  /** The Observable accessor underneath. */
  readonly rx: ClientRegion;
};

/** A device opened with `openDevice`: ClientDevice with every Observable member awaited (see `adapters`). */
export type Device = {
  readonly [K in Exclude<keyof ClientDevice, 'region'> as Unsuffixed<K>]: K extends keyof typeof adapters
    ? Adapted<ClientDevice[K], (typeof adapters)[K]>
    : ClientDevice[K];
} & {
  region(index: number): Region;
  /** The Observable device underneath. */
  readonly rx: ClientDevice;
};

const NOTHING = { defaultValue: undefined };
const done = (o: Observable<unknown>): Promise<void> => lastValueFrom(o, NOTHING).then(() => undefined);

/** One access's outcome into a promise: the sink the region's request primitive takes. */
class Settle<T> implements Sink<T> {
  private value: T | undefined = undefined;

  constructor(
    private readonly resolve: (value: T) => void,
    readonly error: (err: unknown) => void,
  ) {}

  next(value: T): void {
    this.value = value;
  }

  complete(): void {
    this.resolve(this.value as T);
  }
}

const interrupt = (s: InterruptSignal): Interrupt => ({
  index: s.index,
  type: s.type,
  vector: s.vector,
  count: s.count,
  ack: () => done(s.ack()),
});

const region = (r: ClientRegion): Region => ({
  index: r.index,
  info: r.info,
  areas: r.areas,
  posted: r.posted,
  read: (offset, count) => new Promise<Buffer>((resolve, reject) => void r.readTo(offset, count, new Settle(resolve, reject))),
  write: (offset, data, options) => new Promise<void>((resolve, reject) => void r.writeFrom(offset, data, new Settle(resolve, reject), options)),
  rx: r,
});

const adapt = (dev: ClientDevice, key: keyof typeof adapters): unknown => {
  const adapter: Adapter = adapters[key];
  const member = dev[key] as unknown;
  switch (adapter) {
    case 'done':
      return (...args: unknown[]) => done((member as (...a: unknown[]) => Observable<unknown>)(...args));
    case 'first':
      return (...args: unknown[]) => firstValueFrom((member as (...a: unknown[]) => Observable<unknown>)(...args));
    case 'each':
      return () => eagerValuesFrom(member as Observable<unknown>);
    case 'signals':
      return () => eagerValuesFrom((member as Observable<InterruptSignal>).pipe(map(interrupt)));
    case 'once':
      return () => firstValueFrom(member as Observable<unknown>);
  }
};

/** Wraps an Observable device in the Promise facade. */
export const promiseDevice = (dev: ClientDevice): Device => {
  // One wrapper per region, made on first use: callers may look a region up for every access.
  const regions = new Map<number, Region>();
  const facade: Record<string, unknown> = {
    region: (index: number): Region => {
      let r = regions.get(index);
      if (!r) regions.set(index, (r = region(dev.region(index))));
      return r;
    },
    rx: dev,
  };
  for (const key of Object.keys(dev) as (keyof ClientDevice)[]) {
    if (key === 'region') continue;
    if (key in adapters) facade[key.replace(/\$$/, '')] = adapt(dev, key as keyof typeof adapters);
    // Passed through as a getter: `stats` is live.
    else Object.defineProperty(facade, key, { get: () => dev[key], enumerable: true });
  }
  return facade as Device;
};

/**
 * Opens a vfio-user device: connects, negotiates, maps guest memory for DMA, discovers regions
 * and IRQs, reads config space. Rejects with a typed error (ConnectError, VersionError, ...).
 */
export const openDevice = (options: ClientOptions): Promise<Device> => firstValueFrom(realize$(options)).then(promiseDevice);

/**
 * Migrates the state of the device `source` to `dest` (see migrate$): the progress events for
 * `for await`; the iteration throws what failed, after the source was set running again.
 */
export const migrateDevices = (source: Device, dest: Device, options?: MigrateOptions): AsyncIterableIterator<MigrationProgress> =>
  eagerValuesFrom(migrate$(source.rx, dest.rx, options));
