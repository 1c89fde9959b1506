import { PciConfig, PciLimits, PciSpace } from './registers.js';
import { PciCapId, capabilityName } from './capability-ids.js';
import { ExpBits, ExpReg, ExpType, MsiFlags, MsiReg, MsixFlags, MsixReg, PmBits, PmReg, msiCapLength } from './capability-regs.js';

/** A PCI Express link's capability and current status. */
export interface PcieLink {
  readonly port: number;
  readonly maxSpeed: number;
  readonly maxWidth: number;
  readonly speed: number;
  readonly width: number;
}

/** A decoded standard capability: `kind` says which decoded fields it carries. */
export type ParsedCapability = { readonly id: number; readonly name: string; readonly offset: number } & (
  | {
      readonly kind: 'pm';
      readonly version: number;
      readonly state: number;
      readonly d1: boolean;
      readonly d2: boolean;
      readonly pmeSupport: number;
      readonly noSoftReset: boolean;
      readonly pmeEnabled: boolean;
      readonly pmeStatus: boolean;
    }
  | {
      readonly kind: 'msi';
      readonly enabled: boolean;
      readonly vectorsCapable: number;
      readonly vectorsEnabled: number;
      readonly is64: boolean;
      readonly maskable: boolean;
      readonly address: bigint;
      readonly data: number;
      readonly mask: number | undefined;
      readonly pending: number | undefined;
    }
  | {
      readonly kind: 'msix';
      readonly enabled: boolean;
      readonly functionMask: boolean;
      readonly tableSize: number;
      readonly tableBar: number;
      readonly tableOffset: number;
      readonly pbaBar: number;
      readonly pbaOffset: number;
    }
  | {
      readonly kind: 'pcie';
      readonly version: number;
      readonly deviceType: number;
      readonly deviceTypeName: string;
      readonly interruptMessage: number;
      readonly maxPayloadSupported: number;
      readonly flr: boolean;
      readonly maxPayload: number;
      readonly maxReadRequest: number;
      readonly link: PcieLink | undefined;
    }
  | { readonly kind: 'vendor'; readonly length: number; readonly bytes: Buffer }
  | { readonly kind: 'other' }
);

const pcieTypeNames: Readonly<Record<number, string>> = {
  0x0: 'Endpoint',
  0x1: 'Legacy Endpoint',
  0x4: 'Root Port',
  0x5: 'Upstream Port',
  0x6: 'Downstream Port',
  0x7: 'PCI-Express to PCI/PCI-X Bridge',
  0x8: 'PCI/PCI-X to PCI-Express Bridge',
  0x9: 'Root Complex Integrated Endpoint',
  0xa: 'Root Complex Event Collector',
};

type Base = { id: number; name: string; offset: number };
type Decoder = (b: Buffer, base: Base, limit: number) => ParsedCapability | string;

const decodePm: Decoder = (b, base, limit) => {
  if (base.offset + PmReg.SIZE > limit) return 'runs past the config space';
  const pmc = b.readUInt16LE(base.offset + PmReg.PMC);
  const csr = b.readUInt16LE(base.offset + PmReg.CTRL);
  return {
    ...base, kind: 'pm', version: pmc & PmBits.VERSION_MASK, state: csr & PmBits.STATE_MASK,
    d1: (pmc & PmBits.D1) !== 0, d2: (pmc & PmBits.D2) !== 0, pmeSupport: pmc >> PmBits.PME_SHIFT,
    noSoftReset: (csr & PmBits.NO_SOFT_RESET) !== 0, pmeEnabled: (csr & PmBits.PME_ENABLE) !== 0,
    pmeStatus: (csr & PmBits.PME_STATUS) !== 0,
  };
};

const decodeMsi: Decoder = (b, base, limit) => {
  if (base.offset + 4 > limit) return 'runs past the config space';
  const flags = b.readUInt16LE(base.offset + MsiReg.FLAGS);
  const is64 = (flags & MsiFlags.ADDR64) !== 0;
  const maskable = (flags & MsiFlags.MASKBIT) !== 0;
  if (base.offset + msiCapLength(is64, maskable) > limit) return 'runs past the config space';
  const data = base.offset + (is64 ? MsiReg.DATA_64 : MsiReg.DATA_32);
  const hi = is64 ? BigInt(b.readUInt32LE(base.offset + MsiReg.ADDRESS_HI)) << 32n : 0n;
  const capable = 1 << ((flags & MsiFlags.QMASK) >> MsiFlags.QMASK_SHIFT);
  return {
    ...base, kind: 'msi', enabled: (flags & MsiFlags.ENABLE) !== 0, vectorsCapable: capable,
    vectorsEnabled: 1 << ((flags & MsiFlags.QSIZE) >> MsiFlags.QSIZE_SHIFT), is64, maskable,
    address: hi | BigInt(b.readUInt32LE(base.offset + MsiReg.ADDRESS_LO)), data: b.readUInt16LE(data),
    mask: maskable ? b.readUInt32LE(data + 4) : undefined, pending: maskable ? b.readUInt32LE(data + 8) : undefined,
  };
};

const decodeMsix: Decoder = (b, base, limit) => {
  if (base.offset + MsixReg.SIZE > limit) return 'runs past the config space';
  const flags = b.readUInt16LE(base.offset + MsixReg.FLAGS);
  const table = b.readUInt32LE(base.offset + MsixReg.TABLE);
  const pba = b.readUInt32LE(base.offset + MsixReg.PBA);
  return {
    ...base, kind: 'msix', enabled: (flags & MsixFlags.ENABLE) !== 0, functionMask: (flags & MsixFlags.MASKALL) !== 0,
    tableSize: (flags & MsixFlags.QSIZE) + 1, tableBar: table & MsixFlags.BIR_MASK,
    tableOffset: (table & MsixFlags.OFFSET_MASK) >>> 0, pbaBar: pba & MsixFlags.BIR_MASK,
    pbaOffset: (pba & MsixFlags.OFFSET_MASK) >>> 0,
  };
};

const decodeLink = (b: Buffer, off: number): PcieLink => {
  const cap = b.readUInt32LE(off + ExpReg.LNKCAP);
  const sta = b.readUInt16LE(off + ExpReg.LNKSTA);
  const width = (v: number): number => (v & ExpBits.LNK_WIDTH) >> ExpBits.LNK_WIDTH_SHIFT;
  return { port: cap >>> 24, maxSpeed: cap & ExpBits.LNK_SPEED, maxWidth: width(cap), speed: sta & ExpBits.LNK_SPEED, width: width(sta) };
};

const decodePcie: Decoder = (b, base, limit) => {
  const off = base.offset;
  if (off + ExpReg.LNKCAP > limit) return 'runs past the config space';
  const flags = b.readUInt16LE(off + ExpReg.FLAGS);
  const type = (flags & ExpBits.TYPE_MASK) >> ExpBits.TYPE_SHIFT;
  const devcap = b.readUInt32LE(off + ExpReg.DEVCAP);
  const devctl = b.readUInt16LE(off + ExpReg.DEVCTL);
  const hasLink = type !== ExpType.RC_INTEGRATED && type !== ExpType.RC_EVENT_COLLECTOR && off + ExpReg.LNKSTA + 2 <= limit;
  return {
    ...base, kind: 'pcie', version: flags & ExpBits.VERSION_MASK, deviceType: type,
    deviceTypeName: pcieTypeNames[type] ?? `Unknown type ${type}`, interruptMessage: (flags >> 9) & 0x1f,
    maxPayloadSupported: 128 << (devcap & ExpBits.DEVCAP_PAYLOAD), flr: (devcap & ExpBits.DEVCAP_FLR) !== 0,
    maxPayload: 128 << ((devctl & ExpBits.DEVCTL_PAYLOAD) >> ExpBits.DEVCTL_PAYLOAD_SHIFT),
    maxReadRequest: 128 << ((devctl & ExpBits.DEVCTL_READRQ) >> ExpBits.DEVCTL_READRQ_SHIFT),
    link: hasLink ? decodeLink(b, off) : undefined,
  };
};

const decodeVendor: Decoder = (b, base, limit) => {
  if (base.offset + 3 > limit) return 'runs past the config space';
  const length = b[base.offset + 2] as number;
  if (length < 3 || base.offset + length > limit) return `has a bad length ${length}`;
  return { ...base, kind: 'vendor', length, bytes: Buffer.from(b.subarray(base.offset + 3, base.offset + length)) };
};

const decoders: Readonly<Record<number, Decoder>> = {
  [PciCapId.PM]: decodePm,
  [PciCapId.MSI]: decodeMsi,
  [PciCapId.MSIX]: decodeMsix,
  [PciCapId.EXP]: decodePcie,
  [PciCapId.VNDR]: decodeVendor,
};

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

/** Walks the standard capability list; a hostile list (loop, bad pointer, too long) ends the walk with a warning. */
export const parseCapabilities = (b: Buffer, warnings: string[]): ParsedCapability[] => {
  const limit = Math.min(b.length, PciSpace.SIZE);
  const caps: ParsedCapability[] = [];
  const seen = new Set<number>();
  // The two low bits of every pointer are reserved; software must ignore them.
  let ptr = (b[PciConfig.CAPABILITY_LIST] ?? 0) & 0xfc;
  while (ptr !== 0) {
    const stop = ptr < PciSpace.CAP_START ? `capability pointer 0x${hex2(ptr)} points into the header`
      : ptr + 2 > limit ? `capability pointer 0x${hex2(ptr)} is beyond the ${limit}-byte config space`
      : seen.has(ptr) ? `capability list loops back to 0x${hex2(ptr)}`
      : caps.length >= PciLimits.MAX_CAPS ? `capability list longer than ${PciLimits.MAX_CAPS} entries` : undefined;
    if (stop !== undefined) {
      warnings.push(`${stop}; list walk stopped`);
      break;
    }
    seen.add(ptr);
    const id = b[ptr] as number;
    const base = { id, name: capabilityName(id), offset: ptr };
    const decoded = decoders[id]?.(b, base, limit) ?? { ...base, kind: 'other' };
    if (typeof decoded === 'string') warnings.push(`${base.name} capability at 0x${hex2(ptr)} ${decoded}; not decoded`);
    caps.push(typeof decoded === 'string' ? { ...base, kind: 'other' } : decoded);
    ptr = (b[ptr + 1] as number) & 0xfc;
  }
  return caps;
};
