/** Checks a region access against what the device reported, so a mistake gets a message naming it. */
import type { Device, Region } from '../client/index.js';
import { RegionFlags } from '../protocol/index.js';
import { hex, regionLabel } from './args.js';
import { CliError } from './errors.js';

/** The region at `index`, or a CliError when the device has none there (absent, or of size 0). */
export const regionOf = (dev: Device, index: number): Region => {
  const info = dev.regions[index];
  if (!info) throw new CliError(`${regionLabel(index)} does not exist: the device has ${dev.regions.length} regions`);
  if (info.size === 0) throw new CliError(`${regionLabel(index)} does not exist on this device (size 0)`);
  return dev.region(index);
};

/** Checks that [offset, offset + count) lies in the region and that it allows the access. */
export const checkAccess = (region: Region, offset: number, count: number, access: 'read' | 'write'): void => {
  const { size, flags } = region.info;
  const name = regionLabel(region.index);
  if (offset >= size) throw new CliError(`offset ${hex(offset)} is beyond ${name} (size ${hex(size)})`);
  if (offset + count > size) {
    throw new CliError(`${hex(count)} bytes at offset ${hex(offset)} run past the end of ${name} (size ${hex(size)})`);
  }
  const needed = access === 'read' ? RegionFlags.READ : RegionFlags.WRITE;
  if ((flags & needed) === 0) throw new CliError(`${name} is not ${access === 'read' ? 'readable' : 'writable'}`);
};
