/** PCI configuration space: emulation for the server framework, parsing and formatting for the client. */
export * from './registers.js';
export * from './capability-ids.js';
export * from './capability-regs.js';
export * from './types.js';
export { validateDescription } from './validate.js';
export { barLayout, type BarRegion, type RegionKind } from './bar-layout.js';
export { buildConfigSpace } from './build.js';
export {
  configSize,
  pokeConfig,
  readConfig,
  resetConfig,
  withBytes as restoreConfig,
  setInterruptStatus,
  type ConfigLayout,
  type ConfigSpace,
  type MsiLayout,
  type MsixLayout,
  type PcieLayout,
  type PmLayout,
} from './space.js';
export { writeConfig, type WriteResult } from './write.js';
export type { ConfigEffect } from './effects.js';
export { msiState, msixInfo, msixState, type MsiState, type MsixInfo, type MsixState } from './msi.js';
export { decodeBar, decodeRom, type DecodedBar } from './bar-decode.js';
export { parseConfigSpace, type ParsedBar, type ParsedConfig } from './parse.js';
export type { ParsedCapability, PcieLink } from './parse-caps.js';
export type { ParsedExtCapability } from './parse-ext-caps.js';
export { formatConfig, type FormatOptions } from './format.js';
export { hexdumpConfig } from './hexdump.js';
