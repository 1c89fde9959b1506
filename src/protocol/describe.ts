/**
 * A message's payload as named fields, decoded with the codecs of this folder: what a monitor shows
 * of each command (`region`, `offset`, `count`, `data` for a REGION_WRITE). Pure: for traces, the
 * tap's decoded stream and captures.
 */
import { Command } from './constants.js';
import { decodeDeviceInfoReply } from './device-info.js';
import { decodeDmaReadReply, decodeDmaReadRequest, decodeDmaWriteReply, decodeDmaWriteRequest, type DmaAccess } from './dma-access.js';
import { decodeDmaMapRequest, decodeDmaUnmapReply, decodeDmaUnmapRequest } from './dma.js';
import { decodeDeviceFeatureReply, decodeDeviceFeatureRequest, featureIndex } from './feature.js';
import { decodeIoFdsReply, decodeIoFdsRequest } from './io-fds.js';
import { decodeIrqInfoReply, decodeIrqInfoRequest, decodeSetIrqsRequest } from './irq.js';
import { decodeMigDataReadReply, decodeMigDataReadRequest, decodeMigDataWriteRequest } from './migration-data.js';
import {
  decodeRegionReadReply,
  decodeRegionReadRequest,
  decodeRegionWriteReply,
  decodeRegionWriteRequest,
  type RegionAccess,
} from './region-access.js';
import { decodeRegionInfoReply, decodeRegionInfoRequest } from './region-info.js';
import { decodeVersion, type VersionPayload } from './version.js';
import { decodeWriteMultiReply, decodeWriteMultiRequest } from './write-multi.js';

/** Named payload fields: numbers (shown in hex) and text (`data` in hex digits, JSON). */
export type PayloadFields = Readonly<Record<string, number | string | undefined>>;

type Decoder = (payload: Buffer) => PayloadFields;

/** Data bytes shown at most; longer data ends with `...`. */
export const DATA_SHOWN = 16;

const data = (d: Buffer | undefined): string | undefined =>
  d === undefined || d.length === 0 ? undefined : d.subarray(0, DATA_SHOWN).toString('hex') + (d.length > DATA_SHOWN ? '...' : '');

const access = (a: RegionAccess): PayloadFields => ({ region: a.region, offset: a.offset, count: a.count, data: data(a.data) });
const dmaAccess = (a: DmaAccess): PayloadFields => ({ address: a.address, count: a.count, data: data(a.data) });
const version = (v: VersionPayload): PayloadFields => ({ version: `${v.major}.${v.minor}`, json: v.json === undefined ? undefined : JSON.stringify(v.json) });
const none: Decoder = () => ({});
const feature: Decoder = (b) => {
  const f = decodeDeviceFeatureReply(b);
  return { argsz: f.argsz, flags: f.flags, feature: featureIndex(f.flags), data: data(f.data) };
};

/** Decoders by command number: the command's payload, then the reply's. */
const decoders: Readonly<Record<number, readonly [Decoder, Decoder]>> = {
  [Command.VERSION]: [(b) => version(decodeVersion(b)), (b) => version(decodeVersion(b))],
  [Command.DMA_MAP]: [(b) => {
    const m = decodeDmaMapRequest(b);
    return { flags: m.flags, offset: m.offset, address: m.address, size: m.size };
  }, none],
  [Command.DMA_UNMAP]: [(b) => {
    const m = decodeDmaUnmapRequest(b);
    return { flags: m.flags, address: m.address, size: m.size };
  }, (b) => {
    const m = decodeDmaUnmapReply(b);
    return { flags: m.flags, address: m.address, size: m.size };
  }],
  [Command.DEVICE_GET_INFO]: [none, (b) => {
    const i = decodeDeviceInfoReply(b);
    return { flags: i.flags, num_regions: i.num_regions, num_irqs: i.num_irqs };
  }],
  [Command.DEVICE_GET_REGION_INFO]: [(b) => ({ index: decodeRegionInfoRequest(b).index }), (b) => {
    const r = decodeRegionInfoReply(b);
    return { index: r.index, flags: r.flags, size: r.size, offset: r.offset, caps: r.caps.length || undefined };
  }],
  [Command.DEVICE_GET_REGION_IO_FDS]: [(b) => {
    const r = decodeIoFdsRequest(b);
    return { index: r.index, count: r.count };
  }, (b) => {
    const r = decodeIoFdsReply(b);
    return { index: r.index, count: r.count, entries: r.entries.length };
  }],
  [Command.DEVICE_GET_IRQ_INFO]: [(b) => ({ index: decodeIrqInfoRequest(b).index }), (b) => {
    const i = decodeIrqInfoReply(b);
    return { index: i.index, flags: i.flags, count: i.count };
  }],
  [Command.DEVICE_SET_IRQS]: [(b) => {
    const s = decodeSetIrqsRequest(b);
    return { flags: s.flags, index: s.index, start: s.start, count: s.count };
  }, none],
  [Command.REGION_READ]: [(b) => access(decodeRegionReadRequest(b)), (b) => access(decodeRegionReadReply(b))],
  [Command.REGION_WRITE]: [(b) => access(decodeRegionWriteRequest(b)), (b) => access(decodeRegionWriteReply(b))],
  [Command.DMA_READ]: [(b) => dmaAccess(decodeDmaReadRequest(b)), (b) => dmaAccess(decodeDmaReadReply(b))],
  [Command.DMA_WRITE]: [(b) => dmaAccess(decodeDmaWriteRequest(b)), (b) => dmaAccess(decodeDmaWriteReply(b))],
  [Command.REGION_WRITE_MULTI]: [(b) => ({ wr_cnt: decodeWriteMultiRequest(b).wr_cnt }), (b) => ({ wr_cnt: decodeWriteMultiReply(b).wr_cnt })],
  [Command.DEVICE_FEATURE]: [(b) => {
    const f = decodeDeviceFeatureRequest(b);
    return { argsz: f.argsz, flags: f.flags, feature: featureIndex(f.flags), data: data(f.data) };
  }, feature],
  [Command.MIG_DATA_READ]: [(b) => {
    const r = decodeMigDataReadRequest(b);
    return { argsz: r.argsz, size: r.size };
  }, (b) => {
    const r = decodeMigDataReadReply(b);
    return { argsz: r.argsz, size: r.size, data: data(r.data) };
  }],
  [Command.MIG_DATA_WRITE]: [(b) => {
    const r = decodeMigDataWriteRequest(b);
    return { argsz: r.argsz, size: r.size, data: data(r.data) };
  }, none],
};

/**
 * The payload fields of a message (none for an empty payload). A payload the codecs refuse gives
 * `{ undecodable: reason }`: a monitor shows what came, even a message a peer would reject.
 */
export const describePayload = (command: number, reply: boolean, payload: Buffer): PayloadFields => {
  const decoder = decoders[command]?.[reply ? 1 : 0];
  if (!decoder || payload.length === 0) return {};
  try {
    return decoder(payload);
  } catch (err) {
    return { undecodable: (err as Error).message };
  }
};
