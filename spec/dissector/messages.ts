// A request and a reply of every command of the protocol, as a capture holds them, for the
// dissector's spec: payloads made with the project's codecs.
import * as p from '../../src/protocol/index.js';
import type { FdInfo } from '../../src/protocol/index.js';

/** One message of the sample conversation. */
export interface SampleMessage {
  readonly direction: 'in' | 'out';
  readonly header: p.Header;
  readonly payload: Buffer;
  readonly fdInfo: readonly FdInfo[];
}

let nextId = 0x10;

/** A command (from `from`) and its reply: the pair as the capture has it. */
const exchange = (command: number, request: Buffer, reply: Buffer | { errno: number }, options: { from?: 'client' | 'server'; fds?: FdInfo[]; replyFds?: FdInfo[] } = {}): SampleMessage[] => {
  const id = nextId++;
  const out = options.from === 'server' ? 'in' : 'out';
  const back = out === 'out' ? 'in' : 'out';
  const replyPayload = Buffer.isBuffer(reply) ? reply : Buffer.alloc(0);
  const error = Buffer.isBuffer(reply) ? 0 : reply.errno;
  return [
    { direction: out, header: { id, command, size: 16 + request.length, flags: 0, error: 0 }, payload: request, fdInfo: options.fds ?? [] },
    { direction: back, header: { id, command, size: 16 + replyPayload.length, flags: error ? 0x21 : 1, error }, payload: replyPayload, fdInfo: options.replyFds ?? [] },
  ];
};

const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
};

const C = p.Command;
const versionJson = p.capabilitiesJson({ max_msg_fds: 8, twin_socket: { supported: true } });
const region = { region: 2, offset: 0x10, count: 4 };
const feature = (flags: number, data: Buffer, argsz = 8 + data.length) => p.encodeDeviceFeatureRequest({ argsz, flags, data });

/** Every command: requests and replies (one an error), some with fds. */
export const sampleConversation = (): SampleMessage[] => [
  ...exchange(C.VERSION, p.encodeVersionRequest({ major: 0, minor: 2, json: versionJson }), p.encodeVersionReply({ major: 0, minor: 2, json: versionJson }), { replyFds: [{ kind: 'socket' }] }),
  ...exchange(C.DMA_MAP, p.encodeDmaMapRequest({ flags: 3, offset: 0, address: 0x100000, size: 0x10000 }), Buffer.alloc(0), { fds: [{ kind: 'memfd', name: 'guest-ram', size: 0x10000 }] }),
  ...exchange(C.DMA_UNMAP, p.encodeDmaUnmapRequest({ flags: 0, address: 0x100000, size: 0x10000 }), p.encodeDmaUnmapReply({ argsz: 24, flags: 0, address: 0x100000, size: 0x10000 })),
  ...exchange(C.DEVICE_GET_INFO, p.encodeDeviceInfoRequest(), p.encodeDeviceInfoReply({ flags: 3, num_regions: 9, num_irqs: 5 })),
  ...exchange(C.DEVICE_GET_REGION_INFO, p.encodeRegionInfoRequest({ argsz: 0x100, index: 4 }), p.encodeRegionInfoReply({ flags: 0xf, index: 4, size: 0x2000, offset: 0, caps: [{ kind: 'sparse_mmap', areas: [{ offset: 0, size: 0x1000 }] }] }), { replyFds: [{ kind: 'memfd', name: 'bar4', size: 0x2000 }] }),
  ...exchange(C.DEVICE_GET_REGION_IO_FDS, p.encodeIoFdsRequest({ argsz: 0x100, flags: 0, index: 0, count: 0 }), p.encodeIoFdsReply({ index: 0, entries: [{ type: 0, offset: 0x14, size: 4, fd_index: 0, flags: 1, datamatch: 1 }] }), { replyFds: [{ kind: 'eventfd' }] }),
  ...exchange(C.DEVICE_GET_IRQ_INFO, p.encodeIrqInfoRequest({ index: 2 }), p.encodeIrqInfoReply({ flags: 3, index: 2, count: 4 })),
  ...exchange(C.DEVICE_SET_IRQS, p.encodeSetIrqsRequest({ flags: 0x24, index: 2, start: 0, count: 2 }), Buffer.alloc(0), { fds: [{ kind: 'eventfd' }, { kind: 'eventfd' }] }),
  ...exchange(C.REGION_READ, p.encodeRegionReadRequest(region), p.encodeRegionReadReply({ ...region, data: u32(0xdeadbeef) })),
  ...exchange(C.REGION_WRITE, p.encodeRegionWriteRequest({ region: 2, offset: 0x10, data: u32(1) }), p.encodeRegionWriteReply(region)),
  ...exchange(C.DMA_READ, p.encodeDmaReadRequest({ address: 0x100000, count: 8 }), p.encodeDmaReadReply({ address: 0x100000, data: Buffer.alloc(8, 0xab) }), { from: 'server' }),
  ...exchange(C.DMA_WRITE, p.encodeDmaWriteRequest({ address: 0x100008, data: Buffer.alloc(8, 0xcd) }), p.encodeDmaWriteReply({ address: 0x100008, count: 8 }), { from: 'server' }),
  ...exchange(C.DEVICE_RESET, p.encodeDeviceResetRequest(), Buffer.alloc(0)),
  ...exchange(C.REGION_WRITE_MULTI, p.encodeWriteMultiRequest({ entries: [{ offset: 0x20, region: 0, count: 4, data: u32(7) }] }), p.encodeWriteMultiReply({ wr_cnt: 1 })),
  ...exchange(C.DEVICE_FEATURE, feature(0x10000 | 1, Buffer.alloc(0), 16), p.encodeDeviceFeatureReply({ flags: 0x10000 | 1, data: p.encodeMigrationFeature({ flags: 5 }) })),
  ...exchange(C.DEVICE_FEATURE, feature(0x20000 | 2, p.encodeMigDeviceStateFeature({ device_state: 3 })), p.encodeDeviceFeatureReply({ flags: 0x20000 | 2, data: p.encodeMigDeviceStateFeature({ device_state: 3 }) })),
  ...exchange(C.DEVICE_FEATURE, feature(0x20000 | 6, p.encodeDmaLoggingStart({ page_size: 4096, ranges: [{ iova: 0x100000, length: 0x10000 }] })), { errno: p.Errno.EINVAL }),
  ...exchange(C.MIG_DATA_READ, p.encodeMigDataReadRequest({ size: 16 }), p.encodeMigDataReadReply({ data: Buffer.alloc(16, 0x5a) })),
  ...exchange(C.MIG_DATA_WRITE, p.encodeMigDataWriteRequest({ data: Buffer.alloc(16, 0x5a) }), Buffer.alloc(0)),
  ...exchange(C.REGION_READ, p.encodeRegionReadRequest({ region: 7, offset: 0x1000, count: 4 }), { errno: p.Errno.EINVAL }),
];
