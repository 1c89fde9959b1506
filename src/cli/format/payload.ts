/**
 * The fields of a traced message's payload, decoded with the protocol codecs and written in hex
 * like QEMU's trace events (`region=0x0 offset=0x14 count=0x4 data=01000000`).
 */
import * as p from '../../protocol/index.js';
import { formatTrace, type TraceEvent } from '../../wire/trace.js';
import { hex } from '../args.js';

type Fields = Readonly<Record<string, number | string | undefined>>;
type Decoder = (payload: Buffer) => Fields;

/** Data bytes shown at most; longer data ends with `...`. */
const DATA_SHOWN = 16;

const data = (d: Buffer | undefined): string | undefined =>
  d === undefined || d.length === 0 ? undefined : d.subarray(0, DATA_SHOWN).toString('hex') + (d.length > DATA_SHOWN ? '...' : '');

const access = (a: p.RegionAccess): Fields => ({ region: a.region, offset: a.offset, count: a.count, data: data(a.data) });
const dmaAccess = (a: p.DmaAccess): Fields => ({ address: a.address, count: a.count, data: data(a.data) });
const version = (v: p.VersionPayload): Fields => ({ version: `${v.major}.${v.minor}`, json: v.json === undefined ? undefined : JSON.stringify(v.json) });
const none: Decoder = () => ({});

/** Decoders by command number: the command's payload, then the reply's. */
const decoders: Readonly<Record<number, readonly [Decoder, Decoder]>> = {
  [p.Command.VERSION]: [(b) => version(p.decodeVersion(b)), (b) => version(p.decodeVersion(b))],
  [p.Command.DMA_MAP]: [(b) => {
    const m = p.decodeDmaMapRequest(b);
    return { flags: m.flags, offset: m.offset, address: m.address, size: m.size };
  }, none],
  [p.Command.DMA_UNMAP]: [(b) => {
    const m = p.decodeDmaUnmapRequest(b);
    return { flags: m.flags, address: m.address, size: m.size };
  }, none],
  [p.Command.DEVICE_GET_INFO]: [none, (b) => {
    const i = p.decodeDeviceInfoReply(b);
    return { flags: i.flags, num_regions: i.num_regions, num_irqs: i.num_irqs };
  }],
  [p.Command.DEVICE_GET_REGION_INFO]: [(b) => ({ index: p.decodeRegionInfoRequest(b).index }), (b) => {
    const r = p.decodeRegionInfoReply(b);
    return { index: r.index, flags: r.flags, size: r.size, offset: r.offset, caps: r.caps.length || undefined };
  }],
  [p.Command.DEVICE_GET_IRQ_INFO]: [(b) => ({ index: p.decodeIrqInfoRequest(b).index }), (b) => {
    const i = p.decodeIrqInfoReply(b);
    return { index: i.index, flags: i.flags, count: i.count };
  }],
  [p.Command.DEVICE_SET_IRQS]: [(b) => {
    const s = p.decodeSetIrqsRequest(b);
    return { flags: s.flags, index: s.index, start: s.start, count: s.count };
  }, none],
  [p.Command.REGION_READ]: [(b) => access(p.decodeRegionReadRequest(b)), (b) => access(p.decodeRegionReadReply(b))],
  [p.Command.REGION_WRITE]: [(b) => access(p.decodeRegionWriteRequest(b)), (b) => access(p.decodeRegionWriteReply(b))],
  [p.Command.DMA_READ]: [(b) => dmaAccess(p.decodeDmaReadRequest(b)), (b) => dmaAccess(p.decodeDmaReadReply(b))],
  [p.Command.DMA_WRITE]: [(b) => dmaAccess(p.decodeDmaWriteRequest(b)), (b) => dmaAccess(p.decodeDmaWriteReply(b))],
  [p.Command.REGION_WRITE_MULTI]: [(b) => ({ wr_cnt: p.decodeWriteMultiRequest(b).wr_cnt }), (b) => ({ wr_cnt: p.decodeWriteMultiReply(b).wr_cnt })],
};

const render = (fields: Fields): string =>
  Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? hex(v) : v}`)
    .join(' ');

/** The payload fields of a traced message ('' when it has none worth showing, e.g. an error reply). */
export const payloadFields = (e: TraceEvent): string => {
  const decoder = decoders[e.command]?.[e.type === 'command' ? 0 : 1];
  if (!decoder || !e.payload || e.payload.length === 0 || e.errno !== 0) return '';
  try {
    return render(decoder(e.payload));
  } catch (err) {
    // A monitor shows what came, even a message the codecs refuse.
    return `(undecodable: ${(err as Error).message})`;
  }
};

/**
 * A trace line, the payload's fields after the header's and a `|` (both have a flags and a size):
 * what `monitor` and `demo --trace` print.
 */
export const traceLine = (e: TraceEvent): string => {
  const fields = payloadFields(e);
  return fields ? `${formatTrace(e)} | ${fields}` : formatTrace(e);
};
