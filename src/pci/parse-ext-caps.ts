import { PciSpace } from './registers.js';
import { PciExtCapId, extCapabilityName } from './capability-ids.js';
import { ExtCapBits, ExtCapReg } from './capability-regs.js';

/** A decoded extended capability; DSN and vendor-specific ones carry their fields. */
export interface ParsedExtCapability {
  readonly id: number;
  readonly version: number;
  readonly offset: number;
  readonly name: string;
  /** Device Serial Number. */
  readonly serial?: bigint;
  /** Vendor-specific: VSEC id, revision and length (headers included). */
  readonly vsecId?: number;
  readonly vsecRev?: number;
  readonly vsecLength?: number;
}

/** Most extended capabilities 0x100..0xfff can hold: 3840 bytes / 4-byte headers. */
const MAX_EXT_CAPS = (PciSpace.EXP_SIZE - PciSpace.EXT_CAP_START) / 4;

const hex3 = (n: number): string => n.toString(16).padStart(3, '0');

const decodeFields = (b: Buffer, id: number, off: number): Partial<ParsedExtCapability> | undefined => {
  if (id === PciExtCapId.DSN) {
    if (off + ExtCapReg.DSN_SIZE > PciSpace.EXP_SIZE) return undefined;
    const lo = BigInt(b.readUInt32LE(off + ExtCapReg.DSN_LOW));
    return { serial: (BigInt(b.readUInt32LE(off + ExtCapReg.DSN_HIGH)) << 32n) | lo };
  }
  if (id === PciExtCapId.VNDR) {
    if (off + ExtCapReg.VSEC_BODY > PciSpace.EXP_SIZE) return undefined;
    const h = b.readUInt32LE(off + ExtCapReg.VSEC_HEADER);
    return {
      vsecId: h & ExtCapBits.ID_MASK,
      vsecRev: (h >>> ExtCapBits.VERSION_SHIFT) & ExtCapBits.VERSION_MASK,
      vsecLength: h >>> ExtCapBits.NEXT_SHIFT,
    };
  }
  return {};
};

/** Walks the extended capability list of a 4 KiB space; a hostile list ends the walk with a warning. */
export const parseExtCapabilities = (b: Buffer, warnings: string[]): ParsedExtCapability[] => {
  if (b.length < PciSpace.EXP_SIZE) return [];
  const caps: ParsedExtCapability[] = [];
  const seen = new Set<number>();
  let off: number = PciSpace.EXT_CAP_START;
  for (;;) {
    const header = b.readUInt32LE(off);
    // An all-zero header means "no (more) extended capabilities".
    if (header === 0) break;
    if (header === 0xffffffff) {
      warnings.push(`extended capability header at 0x${hex3(off)} reads as all ones; list walk stopped`);
      break;
    }
    seen.add(off);
    const id = header & ExtCapBits.ID_MASK;
    const base = { id, version: (header >>> ExtCapBits.VERSION_SHIFT) & ExtCapBits.VERSION_MASK, offset: off, name: extCapabilityName(id) };
    const fields = decodeFields(b, id, off);
    if (fields === undefined) warnings.push(`${base.name} extended capability at 0x${hex3(off)} runs past the config space; not decoded`);
    caps.push({ ...base, ...fields });
    const next = (header >>> ExtCapBits.NEXT_SHIFT) & ExtCapBits.NEXT_MASK;
    if (next === 0) break;
    const stop = next < PciSpace.EXT_CAP_START ? `extended capability pointer 0x${hex3(next)} points below 0x100`
      : seen.has(next) ? `extended capability list loops back to 0x${hex3(next)}`
      : caps.length >= MAX_EXT_CAPS ? `extended capability list longer than ${MAX_EXT_CAPS} entries` : undefined;
    if (stop !== undefined) {
      warnings.push(`${stop}; list walk stopped`);
      break;
    }
    off = next;
  }
  return caps;
};
