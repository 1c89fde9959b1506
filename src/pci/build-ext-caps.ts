import { PciExtCapId } from './capability-ids.js';
import { ExtCapBits, ExtCapReg } from './capability-regs.js';
import type { ConfigBuilder } from './builder.js';
import type { ExtCapSpec } from './types.js';

/** An extended capability header dword. */
const header = (id: number, version: number, next: number): number =>
  (id | (version << ExtCapBits.VERSION_SHIFT) | (next << ExtCapBits.NEXT_SHIFT)) >>> 0;

/** Writes one extended capability at `off`, linked to `next` (0 ends the list), with its masks. */
export const buildExtCap = (b: ConfigBuilder, off: number, cap: ExtCapSpec, next: number): void => {
  switch (cap.kind) {
    case 'vendor': {
      const length = ExtCapReg.VSEC_BODY + cap.bytes.length;
      b.set(off, 4, header(PciExtCapId.VNDR, 1, next));
      b.set(off + ExtCapReg.VSEC_HEADER, 4, header(cap.vsecId, cap.vsecRev ?? 0, length));
      b.copy(off + ExtCapReg.VSEC_BODY, cap.bytes, cap.writeMask);
      return;
    }
    case 'dsn':
      b.set(off, 4, header(PciExtCapId.DSN, 1, next));
      b.set(off + ExtCapReg.DSN_LOW, 4, Number(cap.serial & 0xffffffffn));
      b.set(off + ExtCapReg.DSN_HIGH, 4, Number(cap.serial >> 32n));
      return;
    case 'raw':
      b.set(off, 4, header(cap.id, cap.version ?? 1, next));
      b.copy(off + 4, cap.bytes, cap.writeMask);
      return;
  }
};
