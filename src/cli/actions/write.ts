/** What `vfio-user write` does: write bytes to a region and wait for the server's reply. */
import { parseHexBytes, parseNumber, parseRegion } from '../args.js';
import type { ClientFlags } from '../options.js';
import { clientOptions, withDevice } from '../open.js';
import { checkAccess, regionOf } from '../regions.js';

/** Writes the bytes of BYTESTEXT at OFFSET of REGION. */
export const write = async (socket: string, regionText: string, offsetText: string, bytesText: string, flags: ClientFlags): Promise<void> => {
  const index = parseRegion(regionText);
  const offset = parseNumber(offsetText, 'offset');
  const data = parseHexBytes(bytesText);
  await withDevice(clientOptions(socket, flags), async (dev) => {
    const region = regionOf(dev, index);
    checkAccess(region, offset, data.length, 'write');
    // Not posted: a failure must reach the user, and success means the server has done it.
    await region.write(offset, data, { posted: false });
  });
};
