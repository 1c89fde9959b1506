import { ExpBits, ExpReg, PmBits, PmReg } from './capability-regs.js';
import { diffEffects, type ConfigEffect } from './effects.js';
import { checkRange, partsOf, withBytes, type ConfigLayout, type ConfigSpace } from './space.js';

/** The outcome of a guest config write: the new space and what changed. */
export interface WriteResult {
  readonly space: ConfigSpace;
  readonly effects: readonly ConfigEffect[];
}

/** PM 1.2: a write of an unsupported power state completes but changes nothing. */
const keepSupportedPowerState = (l: ConfigLayout, before: Buffer, after: Buffer): void => {
  if (!l.pm) return;
  const at = l.pm.offset + PmReg.CTRL;
  const state = after.readUInt16LE(at) & PmBits.STATE_MASK;
  if ((state === 1 && !l.pm.d1) || (state === 2 && !l.pm.d2)) {
    const kept = (after.readUInt16LE(at) & ~PmBits.STATE_MASK) | (before.readUInt16LE(at) & PmBits.STATE_MASK);
    after.writeUInt16LE(kept, at);
  }
};

/** Whether the write set Initiate FLR (a bit that always reads back as 0). */
const flrRequested = (l: ConfigLayout, after: Buffer): boolean => {
  if (!l.pcie?.flr) return false;
  return (after.readUInt16LE(l.pcie.offset + ExpReg.DEVCTL) & ExpBits.DEVCTL_FLR) !== 0;
};

/**
 * Applies a guest write of any length at any offset, byte by byte: bits outside the write mask keep
 * their value, RW1C bits written as 1 clear. Throws RangeError beyond the space. An FLR puts the space
 * back to its built contents, reported as `flr` followed by what that reset changed.
 */
export const writeConfig = (space: ConfigSpace, offset: number, data: Buffer): WriteResult => {
  checkRange(space, offset, data.length, 'write');
  const { bytes: before, writeMask, rw1cMask, initial } = partsOf(space);
  let after = Buffer.from(before);
  for (let i = 0; i < data.length; i++) {
    const at = offset + i;
    const v = data[i] as number;
    const w = writeMask[at] as number;
    after[at] = (((after[at] as number) & ~w) | (v & w)) & ~(v & (rw1cMask[at] as number));
  }
  keepSupportedPowerState(space.layout, before, after);
  const flr = flrRequested(space.layout, after);
  if (flr) after = Buffer.from(initial);
  const effects = diffEffects(space.layout, before, after);
  if (flr) return { space: withBytes(space, after), effects: [{ kind: 'flr' }, ...effects] };
  if (after.equals(before)) return { space, effects };
  return { space: withBytes(space, after), effects };
};
