/**
 * What `vfio-user monitor SOCKET` does: opens a device, enables its interrupts and prints every message and
 * every interrupt, one timestamped line each, until a signal, --duration or --count.
 */
import { NEVER, Subject, filter, firstValueFrom, map, merge, take, takeUntil, tap, timer, type Observable } from 'rxjs';
import { irqTypeOf, type Device } from '../../client/index.js';
import { signal$ } from '../../server/index.js';
import { IrqInfoFlags, type IrqIndex } from '../../protocol/index.js';
import type { TraceEvent } from '../../wire/trace.js';
import { traceLine } from '../format/payload.js';
import { parseMs, parseNumber, parseWriteSpec } from '../args.js';
import { CliError, describeError, usageError } from '../errors.js';
import { formatInterrupt } from '../format/events.js';
import { clientOptions, withDevice } from '../open.js';
import type { MonitorFlags } from '../options.js';
import { print } from '../output.js';
import { checkAccess, regionOf } from '../regions.js';


interface Limits {
  readonly durationMs: number | undefined;
  readonly count: number | undefined;
}

/** Enables every IRQ type that has eventfd vectors; a type the device refuses is reported and skipped. */
const enableAll = async (dev: Device): Promise<string[]> => {
  const enabled: string[] = [];
  for (const irq of dev.irqs) {
    if (irq.index > 4 || irq.count === 0 || (irq.flags & IrqInfoFlags.EVENTFD) === 0) continue;
    const type = irqTypeOf(irq.index as IrqIndex);
    try {
      await dev.enableInterrupts(type);
      enabled.push(`${type}(${irq.count})`);
    } catch (err) {
      print(`# could not enable ${type}: ${describeError(err).message}`);
    }
  }
  return enabled;
};

/**
 * Prints each interrupt and resolves with why monitoring stopped. Subscribes at once: the
 * interrupt stream is hot, and must be watched before the vectors are enabled.
 */
const watch = (dev: Device, limits: Limits, counted: { interrupts: number }, cancel$: Observable<void>): Promise<string> => {
  const interrupts$ = dev.rx.interrupts$.pipe(
    tap((irq) => {
      counted.interrupts++;
      print(formatInterrupt(irq));
    }),
    filter(() => limits.count !== undefined && counted.interrupts >= limits.count),
    map(() => `${limits.count} interrupt(s) seen`),
  );
  const ended$: Observable<string> = dev.rx.closed$.pipe(
    map((cause) => {
      throw new CliError(`the connection ended: ${cause.message}`);
    }),
  );
  const duration$ = limits.durationMs === undefined ? NEVER : timer(limits.durationMs).pipe(map(() => `${limits.durationMs} ms elapsed`));
  const stop$ = merge(interrupts$, ended$, duration$, signal$('SIGINT', 'SIGTERM')).pipe(take(1), takeUntil(cancel$));
  return firstValueFrom(stop$, { defaultValue: 'cancelled' });
};

/** Does the --write pokes in order, each waiting for the server's reply. */
const poke = async (dev: Device, writes: readonly string[]): Promise<void> => {
  for (const w of writes.map(parseWriteSpec)) {
    const region = regionOf(dev, w.region);
    checkAccess(region, w.offset, w.data.length, 'write');
    await region.write(w.offset, w.data, { posted: false });
  }
};

const limitsOf = (flags: MonitorFlags): Limits => {
  const count = flags.count === undefined ? undefined : parseNumber(flags.count, 'count');
  if (count === 0) throw usageError('count must be above 0');
  return { durationMs: flags.duration === undefined ? undefined : parseMs(flags.duration, 'duration'), count };
};

/** Opens the device, enables its interrupts and prints messages and interrupts until a limit or a signal. */
export const monitor = async (socket: string, flags: MonitorFlags): Promise<void> => {
  const limits = limitsOf(flags);
  flags.write.forEach(parseWriteSpec);
  const counted = { interrupts: 0, messages: 0 };
  const onTrace = (e: TraceEvent) => {
    counted.messages++;
    print(traceLine(e));
  };
  const reason = await withDevice(clientOptions(socket, flags, { onTrace, autoAck: true }), async (dev) => {
    const cancel$ = new Subject<void>();
    const stopped = watch(dev, limits, counted, cancel$);
    // Awaited below; until then a failure must not count as unhandled.
    stopped.catch(() => undefined);
    try {
      const enabled = await enableAll(dev);
      const c = dev.config;
      print(`# monitoring ${socket}: vendor 0x${c.vendorId.toString(16)} device 0x${c.deviceId.toString(16)}, interrupts enabled: ${enabled.join(' ') || 'none'}`);
      await poke(dev, flags.write);
      return await stopped;
    } finally {
      // Stops the timer and the signal handlers when a step above failed.
      cancel$.next();
    }
  });
  // After the close, whose messages (interrupts disabled) are part of the trace too.
  print(`# stopped (${reason}): ${counted.interrupts} interrupt(s), ${counted.messages} message(s)`);
};
