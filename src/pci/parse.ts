import { PciConfig, PciHeaderType, PciSpace, PciStatus } from './registers.js';
import { decodeBar, decodeRom, type DecodedBar } from './bar-decode.js';
import { parseCapabilities, type ParsedCapability } from './parse-caps.js';
import { parseExtCapabilities, type ParsedExtCapability } from './parse-ext-caps.js';

/** A BAR register as read: `raw` 0 can also be an unimplemented BAR (only sizing tells them apart). */
export interface ParsedBar extends DecodedBar {
  readonly index: number;
  /** The register value (the low dword of a 64-bit BAR). */
  readonly raw: number;
}

/** Config space bytes decoded: header fields, BARs, capabilities, and warnings about anything hostile. */
export interface ParsedConfig {
  readonly size: number;
  readonly vendorId: number;
  readonly deviceId: number;
  readonly command: number;
  readonly status: number;
  readonly revision: number;
  /** 24-bit class code: base << 16 | subclass << 8 | prog-if. */
  readonly classCode: number;
  readonly baseClass: number;
  readonly subClass: number;
  readonly progIf: number;
  /** Header layout (0 normal, 1 bridge, 2 CardBus), without the multifunction bit. */
  readonly headerType: number;
  readonly multifunction: boolean;
  readonly subsystemVendorId: number;
  readonly subsystemId: number;
  /** One entry per BAR slot; the upper half of a 64-bit BAR has none. */
  readonly bars: readonly ParsedBar[];
  readonly romAddress: number;
  readonly romEnabled: boolean;
  readonly interruptLine: number;
  readonly interruptPin: number;
  readonly capabilities: readonly ParsedCapability[];
  /** Only for a 4 KiB space. */
  readonly extendedCapabilities: readonly ParsedExtCapability[];
  readonly warnings: readonly string[];
}

/** BAR slots per header type: normal 6, bridge 2, CardBus 0. */
const BAR_SLOTS: Readonly<Record<number, number>> = { 0: 6, 1: 2, 2: 0 };

const parseBars = (b: Buffer, slots: number, warnings: string[]): ParsedBar[] => {
  const bars: ParsedBar[] = [];
  for (let i = 0; i < slots; i++) {
    const bar = decodeBar(b, i, slots - 1);
    if (bar.is64 && i === slots - 1) warnings.push(`BAR ${i} claims 64 bits but is the last BAR; upper dword taken as 0`);
    bars.push({ index: i, raw: b.readUInt32LE(PciConfig.BAR0 + 4 * i), ...bar });
    if (bar.is64) i++;
  }
  return bars;
};

/** Decodes config space read from a device; never throws on hostile contents, only on fewer than 64 bytes. */
export const parseConfigSpace = (bytes: Buffer): ParsedConfig => {
  if (bytes.length < PciSpace.CAP_START) {
    throw new RangeError(`config space of ${bytes.length} bytes is shorter than the 64-byte header`);
  }
  const warnings: string[] = [];
  const headerByte = bytes[PciConfig.HEADER_TYPE] as number;
  const headerType = headerByte & PciHeaderType.MASK;
  const slots = BAR_SLOTS[headerType];
  if (slots === undefined) warnings.push(`unknown header type ${headerType}; BARs and capabilities not decoded`);
  const normal = headerType === PciHeaderType.NORMAL;
  const bridge = headerType === PciHeaderType.BRIDGE;
  // CardBus bridges keep their capability pointer elsewhere; this decoder does not follow it.
  const hasCaps = (normal || bridge) && (bytes.readUInt16LE(PciConfig.STATUS) & PciStatus.CAP_LIST) !== 0;
  const romRegister = normal ? PciConfig.ROM_ADDRESS : PciConfig.BRIDGE_ROM_ADDRESS;
  const rom = decodeRom(normal || bridge ? bytes.readUInt32LE(romRegister) : 0);
  const classCode = bytes.readUIntLE(PciConfig.CLASS_PROG, 3);
  return {
    size: bytes.length,
    vendorId: bytes.readUInt16LE(PciConfig.VENDOR_ID),
    deviceId: bytes.readUInt16LE(PciConfig.DEVICE_ID),
    command: bytes.readUInt16LE(PciConfig.COMMAND),
    status: bytes.readUInt16LE(PciConfig.STATUS),
    revision: bytes[PciConfig.REVISION] as number,
    classCode,
    baseClass: classCode >> 16,
    subClass: (classCode >> 8) & 0xff,
    progIf: classCode & 0xff,
    headerType,
    multifunction: (headerByte & PciHeaderType.MULTIFUNCTION) !== 0,
    subsystemVendorId: normal ? bytes.readUInt16LE(PciConfig.SUBSYSTEM_VENDOR_ID) : 0,
    subsystemId: normal ? bytes.readUInt16LE(PciConfig.SUBSYSTEM_ID) : 0,
    bars: parseBars(bytes, slots ?? 0, warnings),
    romAddress: rom.address,
    romEnabled: rom.enabled,
    interruptLine: bytes[PciConfig.INTERRUPT_LINE] as number,
    interruptPin: bytes[PciConfig.INTERRUPT_PIN] as number,
    capabilities: hasCaps ? parseCapabilities(bytes, warnings) : [],
    extendedCapabilities: parseExtCapabilities(bytes, warnings),
    warnings,
  };
};
