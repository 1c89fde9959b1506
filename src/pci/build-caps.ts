import { PciCapId } from './capability-ids.js';
import { ExpBits, ExpReg, ExpType, MsiFlags, MsiReg, MsixFlags, MsixReg, PmBits, PmReg } from './capability-regs.js';
import type { ConfigBuilder } from './builder.js';
import type { CapSpec, MsiCapSpec, MsixCapSpec, PcieCapSpec, PcieDeviceType, PmCapSpec, VendorCapSpec } from './types.js';

const pcieTypes: Readonly<Record<PcieDeviceType, number>> = {
  endpoint: ExpType.ENDPOINT,
  'legacy-endpoint': ExpType.LEGACY_ENDPOINT,
  'rc-integrated': ExpType.RC_INTEGRATED,
};

const buildPm = (b: ConfigBuilder, off: number, cap: PmCapSpec): void => {
  const pme = cap.pmeSupport ?? 0;
  const pmc = PmBits.VERSION_1_2 | (cap.d1 ? PmBits.D1 : 0) | (cap.d2 ? PmBits.D2 : 0) | (pme << PmBits.PME_SHIFT);
  b.set(off + PmReg.PMC, 2, pmc);
  b.set(off + PmReg.CTRL, 2, cap.noSoftReset ? PmBits.NO_SOFT_RESET : 0);
  // PME_En and PME_Status only mean something when the function can signal PME at all.
  b.writable(off + PmReg.CTRL, 2, PmBits.STATE_MASK | (pme ? PmBits.PME_ENABLE : 0));
  if (pme) b.rw1c(off + PmReg.CTRL, 2, PmBits.PME_STATUS);
};

const buildMsi = (b: ConfigBuilder, off: number, cap: MsiCapSpec): void => {
  const is64 = cap.is64 ?? false;
  const mmc = Math.log2(cap.vectors);
  const flags = (mmc << MsiFlags.QMASK_SHIFT) | (is64 ? MsiFlags.ADDR64 : 0) | (cap.maskable ? MsiFlags.MASKBIT : 0);
  b.set(off + MsiReg.FLAGS, 2, flags).writable(off + MsiReg.FLAGS, 2, MsiFlags.ENABLE | MsiFlags.QSIZE);
  // The message address is dword aligned: its two low bits are hardwired to 0.
  b.writable(off + MsiReg.ADDRESS_LO, 4, 0xfffffffc);
  if (is64) b.writable(off + MsiReg.ADDRESS_HI, 4, 0xffffffff);
  const data = off + (is64 ? MsiReg.DATA_64 : MsiReg.DATA_32);
  b.writable(data, 2, 0xffff);
  if (cap.maskable) b.writable(data + 4, 4, cap.vectors === 32 ? 0xffffffff : (1 << cap.vectors) - 1);
};

const buildMsix = (b: ConfigBuilder, off: number, cap: MsixCapSpec): void => {
  b.set(off + MsixReg.FLAGS, 2, cap.tableSize - 1).writable(off + MsixReg.FLAGS, 2, MsixFlags.ENABLE | MsixFlags.MASKALL);
  b.set(off + MsixReg.TABLE, 4, cap.tableOffset | cap.tableBar);
  b.set(off + MsixReg.PBA, 4, cap.pbaOffset | cap.pbaBar);
};

const DEVCTL_WRITABLE =
  ExpBits.DEVCTL_ERR_REPORTING | ExpBits.DEVCTL_RELAX_EN | ExpBits.DEVCTL_PAYLOAD | ExpBits.DEVCTL_EXT_TAG |
  ExpBits.DEVCTL_NOSNOOP_EN | ExpBits.DEVCTL_READRQ;

const buildPcie = (b: ConfigBuilder, off: number, cap: PcieCapSpec): void => {
  b.set(off + ExpReg.FLAGS, 2, 2 | (pcieTypes[cap.deviceType] << ExpBits.TYPE_SHIFT));
  const payload = Math.log2(cap.maxPayload ?? 128) - 7;
  b.set(off + ExpReg.DEVCAP, 4, payload | ExpBits.DEVCAP_RBER | (cap.flr ? ExpBits.DEVCAP_FLR : 0));
  // Reset values from the spec: relaxed ordering and no-snoop enabled, max read request 512 bytes.
  const devctl = ExpBits.DEVCTL_RELAX_EN | ExpBits.DEVCTL_NOSNOOP_EN | (2 << ExpBits.DEVCTL_READRQ_SHIFT);
  b.set(off + ExpReg.DEVCTL, 2, devctl).writable(off + ExpReg.DEVCTL, 2, DEVCTL_WRITABLE | (cap.flr ? ExpBits.DEVCTL_FLR : 0));
  b.rw1c(off + ExpReg.DEVSTA, 2, ExpBits.DEVSTA_RW1C);
  if (cap.deviceType === 'rc-integrated') return;
  // An emulated link is always trained at its maximum speed and width.
  const { speed, width } = cap.link ?? { speed: 1, width: 1 };
  const lnk = speed | (width << ExpBits.LNK_WIDTH_SHIFT);
  b.set(off + ExpReg.LNKCAP, 4, lnk).writable(off + ExpReg.LNKCTL, 2, ExpBits.LNKCTL_WRITABLE);
  b.set(off + ExpReg.LNKSTA, 2, lnk);
  b.set(off + ExpReg.LNKCAP2, 4, ((1 << speed) - 1) << 1);
  b.set(off + ExpReg.LNKCTL2, 2, speed).writable(off + ExpReg.LNKCTL2, 2, ExpBits.LNKCTL2_TARGET_SPEED);
};

const buildVendor = (b: ConfigBuilder, off: number, cap: VendorCapSpec): void => {
  b.set(off + 2, 1, 3 + cap.bytes.length).copy(off + 3, cap.bytes, cap.writeMask);
};

const capIds: Readonly<Record<CapSpec['kind'], number>> = {
  pm: PciCapId.PM,
  msi: PciCapId.MSI,
  msix: PciCapId.MSIX,
  pcie: PciCapId.EXP,
  vendor: PciCapId.VNDR,
};

/** Writes one standard capability at `off`, linked to `next` (0 ends the list), with its masks. */
export const buildCap = (b: ConfigBuilder, off: number, cap: CapSpec, next: number): void => {
  b.set(off, 1, capIds[cap.kind]).set(off + 1, 1, next);
  switch (cap.kind) {
    case 'pm':
      return buildPm(b, off, cap);
    case 'msi':
      return buildMsi(b, off, cap);
    case 'msix':
      return buildMsix(b, off, cap);
    case 'pcie':
      return buildPcie(b, off, cap);
    case 'vendor':
      return buildVendor(b, off, cap);
  }
};
