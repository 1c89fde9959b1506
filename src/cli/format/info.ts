/** What `info` shows of an opened device, like `lspci -vv`: device, limits, regions, IRQs, config space. */
import type { Device, DeviceFeatures } from '../../client/index.js';
import { formatConfig } from '../../pci/index.js';
import type { DefaultedKey, RegionInfo } from '../../protocol/index.js';
import { RegionFlags, deviceStateName } from '../../protocol/index.js';
import { hex, irqName, regionName } from '../args.js';
import { deviceFlags, irqFlags, regionFlags } from './flags.js';

const yes = (b: boolean): string => (b ? 'yes' : 'no');

/** Sparse areas a region declares (absolute offsets in the region). */
export const sparseAreas = (info: RegionInfo): readonly { readonly offset: number; readonly size: number }[] =>
  info.caps.flatMap((c) => (c.kind === 'sparse_mmap' ? c.areas : []));

/**
 * Whether the region's fd came: the client keeps (and maps) the fd of a mappable region only, so a
 * mapped area proves it came; a mappable region left unmapped is reported with the realize warnings.
 */
export const fdState = (dev: Device, info: RegionInfo): 'yes' | 'no' | 'unmapped' => {
  if (dev.region(info.index).areas.length > 0) return 'yes';
  return (info.flags & RegionFlags.MMAP) !== 0 ? 'unmapped' : 'no';
};

/** The server's negotiated limits on one line. */
export const limitsLine = (dev: Device): string => {
  const c = dev.caps;
  // A limit the server did not send is the spec's default, and says so.
  const item = (key: DefaultedKey, value: string) => `${key} ${value}${c.defaulted.includes(key) ? ' (default)' : ''}`;
  return [
    item('max_msg_fds', String(c.max_msg_fds)),
    item('max_data_xfer_size', hex(c.max_data_xfer_size)),
    item('max_dma_maps', String(c.max_dma_maps)),
    item('pgsizes', hex(c.pgsizes)),
    item('twin_socket', yes(dev.twinSocket)),
    item('write_multiple', yes(c.write_multiple)),
  ].join(', ');
};

const regionLines = (dev: Device, info: RegionInfo): string[] => {
  const head = `  ${String(info.index).padStart(2)} ${regionName(info.index).padEnd(7)} size ${hex(info.size).padEnd(10)} flags ${regionFlags(info.flags).padEnd(27)} fd ${fdState(dev, info)}`;
  const mapped = dev.region(info.index).areas;
  const sparse = sparseAreas(info).map((a) => {
    const isMapped = mapped.some((m) => m.offset === a.offset && m.size === a.size);
    return `       sparse mmap area ${hex(a.offset)}+${hex(a.size)}${isMapped ? ' (mapped)' : ''}`;
  });
  const other = info.caps.filter((c) => c.kind !== 'sparse_mmap').map((c) => `       capability ${c.kind === 'type' ? `type ${hex(c.type)} subtype ${hex(c.subtype)}` : `id ${hex(c.id)}`}`);
  return [head, ...sparse, ...other];
};

/** Region lines: the present ones in full, the empty ones as a list of indexes. */
export const regionsSection = (dev: Device): string[] => {
  const present = dev.regions.filter((r) => r.size > 0);
  const empty = dev.regions.filter((r) => r.size === 0).map((r) => regionName(r.index));
  return [
    `Regions (${dev.regions.length}):`,
    ...present.flatMap((r) => regionLines(dev, r)),
    ...(empty.length ? [`  empty: ${empty.join(' ')}`] : []),
  ];
};

/** IRQ lines, one per type. */
export const irqsSection = (dev: Device): string[] => [
  `IRQs (${dev.irqs.length} types):`,
  ...dev.irqs.map((irq) => `  ${irq.index} ${irqName(irq.index).padEnd(5)} count ${String(irq.count).padEnd(4)} flags ${irqFlags(irq.flags)}`),
];

/** Config space decoded by the pci formatter, with BAR sizes from the region info. */
export const configSection = (dev: Device): string[] => {
  const barSizes = dev.regions.slice(0, 6).map((r) => r.size);
  const romSize = dev.regions[6]?.size;
  const lines = formatConfig(dev.config, { barSizes, ...(romSize ? { romSize } : {}) });
  return [`Config space (${hex(dev.configBytes.length)} bytes):`, ...lines.map((l) => `  ${l}`)];
};

/** What DEVICE_FEATURE offers, on one line. */
export const featuresLine = (f: DeviceFeatures): string => {
  const m = f.migration;
  const migration = m
    ? `migration (stop-copy${m.preCopy ? ', pre-copy' : ''}${m.p2p ? ', p2p' : ''}; now ${deviceStateName(m.state)})`
    : 'no migration';
  return `${migration}, ${f.dirtyLogging ? 'dirty page logging' : 'no dirty page logging'}`;
};

/** Every line of `info` for a device opened at `where`. */
export const infoLines = (dev: Device, where: string, features?: DeviceFeatures): string[] => [
  `Device ${where}: vfio-user ${dev.version.major}.${dev.version.minor}, flags ${deviceFlags(dev.info.flags)}`,
  `Server limits: ${limitsLine(dev)}`,
  ...(features ? [`Features: ${featuresLine(features)}`] : []),
  ...regionsSection(dev),
  ...irqsSection(dev),
  ...configSection(dev),
  // Config space warnings are already among the formatter's lines.
  ...dev.warnings.filter((w) => !dev.config.warnings.includes(w)).map((w) => `Warning: ${w}`),
];
