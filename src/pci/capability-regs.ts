/** Register offsets and bits inside the capabilities this module emulates and decodes. */

/** Power Management capability: register offsets from the capability start. */
export const PmReg = { PMC: 2, CTRL: 4, BSE: 6, DATA: 7, SIZE: 8 } as const;

/** Power Management bits (PMC and PMCSR). */
export const PmBits = {
  VERSION_MASK: 0x0007,
  /** PM 1.2, the version every current device reports. */
  VERSION_1_2: 3,
  D1: 0x0200,
  D2: 0x0400,
  PME_SHIFT: 11,
  STATE_MASK: 0x0003,
  NO_SOFT_RESET: 0x0008,
  PME_ENABLE: 0x0100,
  PME_STATUS: 0x8000,
} as const;

/** MSI capability: register offsets from the capability start. */
export const MsiReg = {
  FLAGS: 2,
  ADDRESS_LO: 4,
  ADDRESS_HI: 8,
  DATA_32: 8,
  DATA_64: 12,
  MASK_32: 12,
  MASK_64: 16,
  PENDING_32: 16,
  PENDING_64: 20,
} as const;

/** MSI message control bits. */
export const MsiFlags = {
  ENABLE: 0x0001,
  QMASK: 0x000e,
  QMASK_SHIFT: 1,
  QSIZE: 0x0070,
  QSIZE_SHIFT: 4,
  ADDR64: 0x0080,
  MASKBIT: 0x0100,
} as const;

/** Length of an MSI capability for its address width and masking. */
export const msiCapLength = (is64: boolean, maskable: boolean): number =>
  (is64 ? 14 : 10) + (maskable ? 10 : 0);

/** MSI-X capability: register offsets from the capability start. */
export const MsixReg = { FLAGS: 2, TABLE: 4, PBA: 8, SIZE: 12 } as const;

/** MSI-X message control and BIR bits. */
export const MsixFlags = { QSIZE: 0x07ff, MASKALL: 0x4000, ENABLE: 0x8000, BIR_MASK: 0x7, OFFSET_MASK: 0xfffffff8 } as const;

/** Bytes of one MSI-X table entry. */
export const MSIX_ENTRY_SIZE = 16;

/** Bytes of the pending-bit array for `entries` vectors (whole qwords). */
export const msixPbaSize = (entries: number): number => Math.ceil(entries / 64) * 8;

/** PCI Express capability: register offsets from the capability start. */
export const ExpReg = {
  FLAGS: 0x02,
  DEVCAP: 0x04,
  DEVCTL: 0x08,
  DEVSTA: 0x0a,
  LNKCAP: 0x0c,
  LNKCTL: 0x10,
  LNKSTA: 0x12,
  DEVCAP2: 0x24,
  DEVCTL2: 0x28,
  LNKCAP2: 0x2c,
  LNKCTL2: 0x30,
  LNKSTA2: 0x32,
  /** Length of a version-2 capability for an endpoint. */
  SIZE_V2: 0x3c,
} as const;

/** PCI Express capability bits. */
export const ExpBits = {
  VERSION_MASK: 0x000f,
  TYPE_MASK: 0x00f0,
  TYPE_SHIFT: 4,
  DEVCAP_PAYLOAD: 0x00000007,
  DEVCAP_RBER: 0x00008000,
  DEVCAP_FLR: 0x10000000,
  DEVCTL_ERR_REPORTING: 0x000f,
  DEVCTL_RELAX_EN: 0x0010,
  DEVCTL_PAYLOAD: 0x00e0,
  DEVCTL_PAYLOAD_SHIFT: 5,
  DEVCTL_EXT_TAG: 0x0100,
  DEVCTL_NOSNOOP_EN: 0x0800,
  DEVCTL_READRQ: 0x7000,
  DEVCTL_READRQ_SHIFT: 12,
  DEVCTL_FLR: 0x8000,
  DEVSTA_RW1C: 0x000f,
  LNK_SPEED: 0x000f,
  LNK_WIDTH: 0x03f0,
  LNK_WIDTH_SHIFT: 4,
  /** ASPM control, read completion boundary, common clock, extended synch. */
  LNKCTL_WRITABLE: 0x00cb,
  LNKCTL2_TARGET_SPEED: 0x000f,
} as const;

/** PCI Express device/port type values (bits 7:4 of the capability register). */
export const ExpType = {
  ENDPOINT: 0x0,
  LEGACY_ENDPOINT: 0x1,
  ROOT_PORT: 0x4,
  UPSTREAM: 0x5,
  DOWNSTREAM: 0x6,
  PCIE_TO_PCI_BRIDGE: 0x7,
  PCI_TO_PCIE_BRIDGE: 0x8,
  RC_INTEGRATED: 0x9,
  RC_EVENT_COLLECTOR: 0xa,
} as const;

/** Extended capability header fields. */
export const ExtCapBits = { ID_MASK: 0xffff, VERSION_SHIFT: 16, VERSION_MASK: 0xf, NEXT_SHIFT: 20, NEXT_MASK: 0xffc } as const;

/** Offsets inside the Device Serial Number and Vendor-Specific extended capabilities. */
export const ExtCapReg = { DSN_LOW: 4, DSN_HIGH: 8, DSN_SIZE: 12, VSEC_HEADER: 4, VSEC_BODY: 8 } as const;
