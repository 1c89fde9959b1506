/** Register offsets and bits of the PCI configuration header, spelled after linux/pci_regs.h. */

/** Offsets of the type-0 configuration header registers. */
export const PciConfig = {
  VENDOR_ID: 0x00,
  DEVICE_ID: 0x02,
  COMMAND: 0x04,
  STATUS: 0x06,
  REVISION: 0x08,
  /** Start of the 24-bit class code: prog-if, then subclass, then base class. */
  CLASS: 0x09,
  CLASS_PROG: 0x09,
  CLASS_SUB: 0x0a,
  CLASS_BASE: 0x0b,
  CACHE_LINE: 0x0c,
  LATENCY: 0x0d,
  HEADER_TYPE: 0x0e,
  BIST: 0x0f,
  BAR0: 0x10,
  BAR1: 0x14,
  BAR2: 0x18,
  BAR3: 0x1c,
  BAR4: 0x20,
  BAR5: 0x24,
  CARDBUS_CIS: 0x28,
  SUBSYSTEM_VENDOR_ID: 0x2c,
  SUBSYSTEM_ID: 0x2e,
  ROM_ADDRESS: 0x30,
  CAPABILITY_LIST: 0x34,
  /** The expansion ROM register of a type-1 (bridge) header. */
  BRIDGE_ROM_ADDRESS: 0x38,
  INTERRUPT_LINE: 0x3c,
  INTERRUPT_PIN: 0x3d,
  MIN_GNT: 0x3e,
  MAX_LAT: 0x3f,
} as const;

/** Sizes and fixed offsets of the configuration space. */
export const PciSpace = {
  /** Conventional PCI config space. */
  SIZE: 256,
  /** PCI Express extended config space. */
  EXP_SIZE: 4096,
  /** First byte after the header, where the capability list may start. */
  CAP_START: 0x40,
  /** Where the extended capability list starts. */
  EXT_CAP_START: 0x100,
} as const;

/** Offset of BAR register `index` (0..5). */
export const barOffset = (index: number): number => PciConfig.BAR0 + 4 * index;

/** Command register bits. */
export const PciCommand = {
  IO: 0x0001,
  MEMORY: 0x0002,
  MASTER: 0x0004,
  SPECIAL: 0x0008,
  INVALIDATE: 0x0010,
  VGA_PALETTE: 0x0020,
  PARITY: 0x0040,
  WAIT: 0x0080,
  SERR: 0x0100,
  FAST_BACK: 0x0200,
  INTX_DISABLE: 0x0400,
} as const;

/** Status register bits. */
export const PciStatus = {
  IMM_READY: 0x0001,
  INTERRUPT: 0x0008,
  CAP_LIST: 0x0010,
  MHZ66: 0x0020,
  UDF: 0x0040,
  FAST_BACK: 0x0080,
  PARITY: 0x0100,
  DEVSEL_MASK: 0x0600,
  SIG_TARGET_ABORT: 0x0800,
  REC_TARGET_ABORT: 0x1000,
  REC_MASTER_ABORT: 0x2000,
  SIG_SYSTEM_ERROR: 0x4000,
  DETECTED_PARITY: 0x8000,
  /** The error bits software clears by writing 1 (RW1C). */
  RW1C: 0xf900,
} as const;

/** Header type register values. */
export const PciHeaderType = { NORMAL: 0, BRIDGE: 1, CARDBUS: 2, MASK: 0x7f, MULTIFUNCTION: 0x80 } as const;

/** Low bits of a BAR register. */
export const PciBarBits = {
  SPACE_IO: 0x1,
  MEM_TYPE_MASK: 0x6,
  MEM_TYPE_64: 0x4,
  PREFETCH: 0x8,
  MEM_FLAGS_MASK: 0xf,
  IO_FLAGS_MASK: 0x3,
} as const;

/** Expansion ROM register bits. */
export const PciRomBits = { ENABLE: 0x1, ADDRESS_MASK: 0xfffff800 } as const;

/** Size limits PCI puts on BARs and the expansion ROM. */
export const PciLimits = {
  MEM_BAR_MIN: 16,
  MEM32_BAR_MAX: 2 ** 31,
  IO_BAR_MIN: 4,
  /** PCI 3.0 6.2.5.1: an I/O BAR may not ask for more than 256 bytes. */
  IO_BAR_MAX: 256,
  ROM_MIN: 2048,
  ROM_MAX: 2 ** 31,
  /** Upper bound on capabilities a walk visits: 192 bytes of space / 4-byte minimum. */
  MAX_CAPS: 48,
} as const;
