import { flag, hex, linkSpeedText } from './format-util.js';
import type { ParsedCapability } from './parse-caps.js';
import type { ParsedExtCapability } from './parse-ext-caps.js';

const pmLines = (c: Extract<ParsedCapability, { kind: 'pm' }>): string[] => {
  const pme = ['D0', 'D1', 'D2', 'D3hot', 'D3cold'].map((s, i) => flag(s, (c.pmeSupport & (1 << i)) !== 0)).join(',');
  return [
    `Power Management version ${c.version}`,
    `\tFlags: ${flag('D1', c.d1)} ${flag('D2', c.d2)} PME(${pme})`,
    `\tStatus: D${c.state} ${flag('NoSoftRst', c.noSoftReset)} ${flag('PME-Enable', c.pmeEnabled)} ${flag('PME', c.pmeStatus)}`,
  ];
};

const msiLines = (c: Extract<ParsedCapability, { kind: 'msi' }>): string[] => {
  const lines = [
    `MSI: ${flag('Enable', c.enabled)} Count=${c.vectorsEnabled}/${c.vectorsCapable} ${flag('Maskable', c.maskable)} ${flag('64bit', c.is64)}`,
    `\tAddress: ${hex(c.address, c.is64 ? 16 : 8)}  Data: ${hex(c.data, 4)}`,
  ];
  if (c.mask !== undefined) lines.push(`\tMasking: ${hex(c.mask, 8)}  Pending: ${hex(c.pending ?? 0, 8)}`);
  return lines;
};

const pcieLines = (c: Extract<ParsedCapability, { kind: 'pcie' }>): string[] => {
  const lines = [
    `Express (v${c.version}) ${c.deviceTypeName}, MSI ${hex(c.interruptMessage, 2)}`,
    `\tDevCap: MaxPayload ${c.maxPayloadSupported} bytes, ${flag('FLReset', c.flr)}`,
    `\tDevCtl: MaxPayload ${c.maxPayload} bytes, MaxReadReq ${c.maxReadRequest} bytes`,
  ];
  if (c.link) {
    lines.push(`\tLnkCap: Port #${c.link.port}, Speed ${linkSpeedText(c.link.maxSpeed)}, Width x${c.link.maxWidth}`);
    lines.push(`\tLnkSta: Speed ${linkSpeedText(c.link.speed)}, Width x${c.link.width}`);
  }
  return lines;
};

const capBody = (c: ParsedCapability): string[] => {
  switch (c.kind) {
    case 'pm':
      return pmLines(c);
    case 'msi':
      return msiLines(c);
    case 'msix':
      return [
        `MSI-X: ${flag('Enable', c.enabled)} Count=${c.tableSize} ${flag('Masked', c.functionMask)}`,
        `\tVector table: BAR=${c.tableBar} offset=${hex(c.tableOffset, 8)}`,
        `\tPBA: BAR=${c.pbaBar} offset=${hex(c.pbaOffset, 8)}`,
      ];
    case 'pcie':
      return pcieLines(c);
    case 'vendor':
      return [`${c.name}: Len=${hex(c.length, 2)}`];
    case 'other':
      return [c.name];
  }
};

/** lspci-like lines for one standard capability: a `Capabilities: [off] ...` line and indented details. */
export const formatCapability = (c: ParsedCapability): string[] => {
  const [first, ...rest] = capBody(c);
  return [`Capabilities: [${hex(c.offset, 2)}] ${first ?? c.name}`, ...rest];
};

/** The serial the way lspci prints it: bytes from most significant, dash-separated. */
const serialText = (serial: bigint): string =>
  Array.from({ length: 8 }, (_, i) => hex((serial >> BigInt(8 * (7 - i))) & 0xffn, 2)).join('-');

/** The lspci-like line for one extended capability. */
export const formatExtCapability = (c: ParsedExtCapability): string => {
  const head = `Capabilities: [${hex(c.offset, 3)} v${c.version}] ${c.name}`;
  if (c.serial !== undefined) return `${head} ${serialText(c.serial)}`;
  if (c.vsecId !== undefined) return `${head}: ID=${hex(c.vsecId, 4)} Rev=${c.vsecRev ?? 0} Len=${hex(c.vsecLength ?? 0, 3)}`;
  return head;
};
