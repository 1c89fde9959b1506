/** DEVICE_GET_INFO, DEVICE_GET_REGION_INFO and DEVICE_GET_IRQ_INFO. */
import { DeviceFlags, IrqInfoFlags, PciIrq, RegionFlags } from '../../protocol/constants.js';
import { decodeDeviceInfoRequest, encodeDeviceInfoReply } from '../../protocol/device-info.js';
import { Errno } from '../../protocol/errno.js';
import { decodeIrqInfoRequest, encodeIrqInfoReply } from '../../protocol/irq.js';
import type { RegionCapability } from '../../protocol/region-caps.js';
import { decodeRegionInfoRequest, encodeRegionInfoReply } from '../../protocol/region-info.js';
import { fail } from '../errors.js';
import { irqTypeOf } from '../irq-table.js';
import type { CommandHandler } from './types.js';

/** DEVICE_GET_INFO: a resettable PCI device with its region count and the 5 PCI IRQ types. */
export const deviceInfo: CommandHandler = (rt, state, frame) => {
  decodeDeviceInfoRequest(frame.payload);
  const payload = encodeDeviceInfoReply({
    flags: DeviceFlags.RESET | DeviceFlags.PCI,
    num_regions: rt.device.regions.length,
    num_irqs: PciIrq.NUM_IRQS,
  });
  return { state, payload };
};

/**
 * DEVICE_GET_REGION_INFO. A RAM-backed region reports MMAP with a sparse-mmap capability and
 * carries its memfd, but only in a reply that holds the capabilities (argsz large enough), as
 * libvfio-user does; to a client that takes no fds it is an ordinary trapped region.
 */
export const regionInfo: CommandHandler = (rt, state, frame) => {
  const req = decodeRegionInfoRequest(frame.payload);
  const entry = rt.device.regions[req.index];
  if (!entry) return fail(Errno.EINVAL, `no region ${req.index} (the device has ${rt.device.regions.length})`);
  const ram = entry.backing.kind === 'ram' && state.session.link.client.max_msg_fds > 0 ? rt.ram.get(entry.index) : undefined;
  const caps: RegionCapability[] = [];
  if (entry.type) caps.push({ kind: 'type', ...entry.type });
  if (ram && entry.backing.kind === 'ram') caps.push({ kind: 'sparse_mmap', areas: entry.backing.areas });
  const flags = ram ? entry.flags : entry.flags & ~RegionFlags.MMAP;
  const payload = encodeRegionInfoReply({ flags, index: entry.index, size: entry.size, offset: 0, caps }, req.argsz);
  const complete = payload.length >= payload.readUInt32LE(0);
  return { state, payload, fds: ram && complete ? [ram.fd] : [] };
};

/** DEVICE_GET_IRQ_INFO: eventfd signalling for every type; MASK/UNMASK for INTx, MSI and MSI-X. */
export const irqInfo: CommandHandler = (rt, state, frame) => {
  const req = decodeIrqInfoRequest(frame.payload);
  const type = irqTypeOf(req.index);
  if (type === undefined) return fail(Errno.EINVAL, `no IRQ index ${req.index}`);
  const maskable = type === 'intx' || type === 'msi' || type === 'msix';
  const flags = IrqInfoFlags.EVENTFD | (maskable ? IrqInfoFlags.MASKABLE : 0);
  return { state, payload: encodeIrqInfoReply({ flags, index: req.index, count: rt.device.irqCounts[type] }) };
};
