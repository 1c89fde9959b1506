import { PciConfig, barOffset } from './registers.js';
import { ExpReg, PmBits, PmReg, MsixReg, msiCapLength } from './capability-regs.js';
import { decodeBar, decodeRom } from './bar-decode.js';
import { decodeMsi, decodeMsix } from './msi.js';
import type { ConfigLayout } from './space.js';

/** What a guest config write changed, for the device to act on. */
export type ConfigEffect =
  | { readonly kind: 'command'; readonly value: number; readonly previous: number }
  | { readonly kind: 'bar'; readonly index: number; readonly address: bigint }
  | { readonly kind: 'rom'; readonly address: number; readonly enabled: boolean }
  | { readonly kind: 'pm'; readonly state: number; readonly previous: number }
  | {
      readonly kind: 'msi';
      readonly enabled: boolean;
      readonly vectors: number;
      readonly address: bigint;
      readonly data: number;
      readonly mask: number | undefined;
    }
  | { readonly kind: 'msix'; readonly enabled: boolean; readonly functionMask: boolean }
  | { readonly kind: 'devctl'; readonly value: number; readonly previous: number }
  /** Function Level Reset was initiated: the space is back to its built contents. */
  | { readonly kind: 'flr' };

const differs = (a: Buffer, b: Buffer, start: number, length: number): boolean =>
  !a.subarray(start, start + length).equals(b.subarray(start, start + length));

const wordChange = (a: Buffer, b: Buffer, at: number): { value: number; previous: number } | undefined => {
  const previous = a.readUInt16LE(at);
  const value = b.readUInt16LE(at);
  return value === previous ? undefined : { value, previous };
};

const headerEffects = (l: ConfigLayout, before: Buffer, after: Buffer): ConfigEffect[] => {
  const out: ConfigEffect[] = [];
  const command = wordChange(before, after, PciConfig.COMMAND);
  if (command) out.push({ kind: 'command', ...command });
  for (const r of l.regions) {
    if (r.kind === 'rom') {
      if (differs(before, after, PciConfig.ROM_ADDRESS, 4)) {
        out.push({ kind: 'rom', ...decodeRom(after.readUInt32LE(PciConfig.ROM_ADDRESS)) });
      }
    } else if (differs(before, after, barOffset(r.index), r.is64 ? 8 : 4)) {
      out.push({ kind: 'bar', index: r.index, address: decodeBar(after, r.index).address });
    }
  }
  return out;
};

const capEffects = (l: ConfigLayout, before: Buffer, after: Buffer): ConfigEffect[] => {
  const out: ConfigEffect[] = [];
  if (l.pm) {
    const at = l.pm.offset + PmReg.CTRL;
    const previous = before.readUInt16LE(at) & PmBits.STATE_MASK;
    const state = after.readUInt16LE(at) & PmBits.STATE_MASK;
    if (state !== previous) out.push({ kind: 'pm', state, previous });
  }
  if (l.msi && differs(before, after, l.msi.offset, msiCapLength(l.msi.is64, l.msi.maskable))) {
    const { enabled, vectors, address, data, mask } = decodeMsi(after, l.msi);
    out.push({ kind: 'msi', enabled, vectors, address, data, mask });
  }
  if (l.msix && differs(before, after, l.msix.offset + MsixReg.FLAGS, 2)) {
    const { enabled, functionMask } = decodeMsix(after, l.msix);
    out.push({ kind: 'msix', enabled, functionMask });
  }
  const devctl = l.pcie && wordChange(before, after, l.pcie.offset + ExpReg.DEVCTL);
  if (devctl) out.push({ kind: 'devctl', ...devctl });
  return out;
};

/** The effects of going from `before` to `after`, in register order. */
export const diffEffects = (l: ConfigLayout, before: Buffer, after: Buffer): ConfigEffect[] => [
  ...headerEffects(l, before, after),
  ...capEffects(l, before, after),
];
