/** `info --json`: the same facts as the text form, as one JSON document for scripts. */
import type { Device, DeviceFeatures } from '../../client/index.js';
import { irqName, regionName } from '../args.js';
import { FLAG_TABLES, flagNames } from './flags.js';
import { fdState, sparseAreas } from './info.js';

/** The JSON document of a device (plain data: numbers, strings, arrays, objects). */
export const infoJson = (dev: Device, where: string, features?: DeviceFeatures): unknown => ({
  socket: where,
  version: dev.version,
  caps: { ...dev.caps, twin_socket: dev.twinSocket },
  ...(features ? { features } : {}),
  device: { flags: dev.info.flags, flagNames: flagNames(dev.info.flags, FLAG_TABLES.device), num_regions: dev.info.num_regions, num_irqs: dev.info.num_irqs },
  regions: dev.regions.map((r) => ({
    index: r.index,
    name: regionName(r.index),
    size: r.size,
    offset: r.offset,
    flags: r.flags,
    flagNames: flagNames(r.flags, FLAG_TABLES.region),
    sparse: sparseAreas(r),
    fd: fdState(dev, r),
    mapped: dev.region(r.index).areas.map((a) => ({ offset: a.offset, size: a.size, writable: a.writable })),
  })),
  irqs: dev.irqs.map((i) => ({
    index: i.index,
    type: irqName(i.index),
    count: i.count,
    flags: i.flags,
    flagNames: flagNames(i.flags, FLAG_TABLES.irq),
  })),
  config: dev.config,
  configBytes: dev.configBytes.toString('hex'),
  warnings: dev.warnings,
});

/** JSON.stringify that writes bigints as numbers (or decimal strings past 2^53) and Buffers as hex. */
export const toJson = (value: unknown): string =>
  JSON.stringify(
    value,
    function (this: Record<string, unknown>, key: string, v: unknown) {
      const raw = this[key];
      if (Buffer.isBuffer(raw)) return raw.toString('hex');
      if (typeof v === 'bigint') return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
      return v;
    },
    2,
  );
