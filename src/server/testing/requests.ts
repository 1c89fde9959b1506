/** Builders of the client's command frames, as a mock client would send them. */
import { Command, DeviceFeature, DmaMapFlags, PciRegion } from '../../protocol/constants.js';
import type { CapabilitiesInput } from '../../protocol/capabilities.js';
import { capabilitiesJson } from '../../protocol/capabilities.js';
import { encodeDeviceInfoRequest } from '../../protocol/device-info.js';
import { encodeDeviceFeatureRequest } from '../../protocol/feature.js';
import { encodeMigDeviceStateFeature } from '../../protocol/feature-migration.js';
import { encodeMigDataReadRequest, encodeMigDataWriteRequest } from '../../protocol/migration-data.js';
import { encodeDmaMapRequest, encodeDmaUnmapRequest } from '../../protocol/dma.js';
import { encodeIrqInfoRequest, encodeSetIrqsRequest, type SetIrqsRequest } from '../../protocol/irq.js';
import { encodeRegionReadRequest, encodeRegionWriteRequest } from '../../protocol/region-access.js';
import { encodeRegionInfoRequest } from '../../protocol/region-info.js';
import { encodeDeviceResetRequest } from '../../protocol/reset.js';
import { encodeVersionRequest } from '../../protocol/version.js';
import type { ArgszOptional } from '../../protocol/writer.js';
import { encodeWriteMultiRequest, type WriteMultiEntry } from '../../protocol/write-multi.js';
import type { Frame } from '../../protocol/frame.js';
import { commandFrame } from '../../wire/mock.js';

/** Sending options of one frame. */
export interface FrameOptions {
  readonly fds?: readonly number[];
  readonly noReply?: boolean;
}

/** The capabilities QEMU proposes (its VERSION request is long enough for any compact reply). */
export const qemuCapabilities: CapabilitiesInput = {
  migration: { pgsize: 4096, max_bitmap_size: 268435456 },
  max_msg_fds: 16,
  max_data_xfer_size: 1048576,
  pgsizes: 4096,
  max_dma_maps: 65535,
  write_multiple: true,
};

/** Frame builders with their own message ids (0, 1, 2... wrapping at 16 bits). */
export const requests = () => {
  let id = 0;
  const frame = (command: number, payload: Buffer, o: FrameOptions = {}): Frame =>
    commandFrame(id++ & 0xffff, command, Buffer.from(payload), [...(o.fds ?? [])], o.noReply ?? false);
  const regionRead = (region: number, offset: number, count: number, o?: FrameOptions) =>
    frame(Command.REGION_READ, encodeRegionReadRequest({ region, offset, count }), o);
  const regionWrite = (region: number, offset: number, data: Buffer, o?: FrameOptions) =>
    frame(Command.REGION_WRITE, encodeRegionWriteRequest({ region, offset, data }), o);
  return {
    frame,
    version: (caps: CapabilitiesInput | undefined = qemuCapabilities, o?: FrameOptions) =>
      frame(Command.VERSION, encodeVersionRequest({ major: 0, minor: 0, json: caps && capabilitiesJson(caps) }), o),
    deviceInfo: (argsz = 16, o?: FrameOptions) => frame(Command.DEVICE_GET_INFO, encodeDeviceInfoRequest({ argsz }), o),
    regionInfo: (index: number, argsz = 32, o?: FrameOptions) => frame(Command.DEVICE_GET_REGION_INFO, encodeRegionInfoRequest({ index, argsz }), o),
    irqInfo: (index: number, argsz = 16, o?: FrameOptions) => frame(Command.DEVICE_GET_IRQ_INFO, encodeIrqInfoRequest({ index, argsz }), o),
    setIrqs: (req: ArgszOptional<SetIrqsRequest>, o?: FrameOptions) => frame(Command.DEVICE_SET_IRQS, encodeSetIrqsRequest(req), o),
    regionRead,
    regionWrite,
    configRead: (offset: number, count: number, o?: FrameOptions) => regionRead(PciRegion.CONFIG, offset, count, o),
    configWrite: (offset: number, data: Buffer, o?: FrameOptions) => regionWrite(PciRegion.CONFIG, offset, data, o),
    dmaMap: (m: { address: number; size: number; flags?: number; offset?: number }, o?: FrameOptions) =>
      frame(Command.DMA_MAP, encodeDmaMapRequest({ flags: DmaMapFlags.READ | DmaMapFlags.WRITE, offset: 0, ...m }), o),
    dmaUnmap: (m: { address: number; size: number; flags?: number }, o?: FrameOptions) =>
      frame(Command.DMA_UNMAP, encodeDmaUnmapRequest({ flags: 0, ...m }), o),
    reset: (o?: FrameOptions) => frame(Command.DEVICE_RESET, encodeDeviceResetRequest(), o),
    writeMulti: (entries: readonly WriteMultiEntry[], o?: FrameOptions) => frame(Command.REGION_WRITE_MULTI, encodeWriteMultiRequest({ entries }), o),
    /** DEVICE_FEATURE with `flags` (feature index | GET/SET/PROBE), its data, and argsz (default: 8 + data, or 4096 for a GET). */
    feature: (flags: number, data: Buffer = Buffer.alloc(0), argsz?: number, o?: FrameOptions) =>
      frame(Command.DEVICE_FEATURE, encodeDeviceFeatureRequest({ flags, data, argsz: argsz ?? ((flags & DeviceFeature.GET) !== 0 ? 4096 : 8 + data.length) }), o),
    /** SET MIG_DEVICE_STATE to `state`. */
    setMigState: (state: number, o?: FrameOptions) =>
      frame(Command.DEVICE_FEATURE, encodeDeviceFeatureRequest({ flags: DeviceFeature.SET | DeviceFeature.MIG_DEVICE_STATE, data: encodeMigDeviceStateFeature({ device_state: state }) }), o),
    migDataRead: (size: number, argsz?: number, o?: FrameOptions) => frame(Command.MIG_DATA_READ, encodeMigDataReadRequest({ size, argsz }), o),
    migDataWrite: (data: Buffer, o?: FrameOptions) => frame(Command.MIG_DATA_WRITE, encodeMigDataWriteRequest({ data }), o),
  };
};

/** The builders `requests()` returns. */
export type Requests = ReturnType<typeof requests>;
