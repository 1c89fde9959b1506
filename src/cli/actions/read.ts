/** What `vfio-user read` does: read bytes from a region and print them as a hexdump. */
import { parseNumber, parseRegion } from '../args.js';
import type { ClientFlags } from '../options.js';
import { usageError } from '../errors.js';
import { hexdump } from '../format/hexdump.js';
import { clientOptions, withDevice } from '../open.js';
import { print } from '../output.js';
import { checkAccess, regionOf } from '../regions.js';

/** Bytes read when COUNT is not given: one hexdump line, or what is left of the region. */
export const DEFAULT_READ_COUNT = 16;

/** Reads COUNT bytes (or a default) at OFFSET of REGION and prints them. */
export const read = async (socket: string, regionText: string, offsetText: string, countText: string | undefined, flags: ClientFlags): Promise<void> => {
  const index = parseRegion(regionText);
  const offset = parseNumber(offsetText, 'offset');
  const count = countText === undefined ? undefined : parseNumber(countText, 'count');
  if (count === 0) throw usageError('count must be above 0');
  await withDevice(clientOptions(socket, flags), async (dev) => {
    const region = regionOf(dev, index);
    const n = count ?? Math.max(1, Math.min(DEFAULT_READ_COUNT, region.info.size - offset));
    checkAccess(region, offset, n, 'read');
    print(...hexdump(await region.read(offset, n), offset));
  });
};
