/**
 * The controller registers of BAR 0 (NVMe base specification 1.4, section 3.1) as a register file,
 * the fields of CAP, CC, CSTS and AQA, and where the doorbells are (from 0x1000, stride 4 bytes:
 * CAP.DSTRD is 0).
 */
import { registerFile, type RegisterValues } from '../../server/index.js';

/** Register offsets. The 64-bit registers (CAP, ASQ, ACQ) are two 32-bit halves, as hosts access them. */
export const NvmeReg = {
  CAP_LO: 0x00,
  CAP_HI: 0x04,
  VS: 0x08,
  INTMS: 0x0c,
  INTMC: 0x10,
  CC: 0x14,
  CSTS: 0x1c,
  NSSR: 0x20,
  AQA: 0x24,
  ASQ_LO: 0x28,
  ASQ_HI: 0x2c,
  ACQ_LO: 0x30,
  ACQ_HI: 0x34,
  CMBLOC: 0x38,
  CMBSZ: 0x3c,
} as const;

/** Offset of the first doorbell (SQ 0 tail). */
export const DOORBELLS = 0x1000;

/** Size of BAR 0: the registers' page and a page of doorbells (room for 512 queue pairs). */
export const BAR0_SIZE = 0x4000;

/** Entries a queue may have at most (CAP.MQES + 1). */
export const MAX_QUEUE_ENTRIES = 1024;

/** The one memory page size the controller supports (CAP.MPSMIN = CAP.MPSMAX = 0). */
export const PAGE_SIZE = 4096;

/** NVMe 1.4.0. */
export const VERSION = 0x00010400;

/**
 * CAP: MQES 1023 (0's based), CQR (queues must be physically contiguous), TO 10 s (in 500 ms
 * units), DSTRD 0, CSS bit 0 (the NVM command set), MPSMIN = MPSMAX = 4 KiB.
 */
const CAP_LO = ((MAX_QUEUE_ENTRIES - 1) | (1 << 16) | (20 << 24)) >>> 0;
const CAP_HI = 1 << (37 - 32);

/** CC fields. */
export const Cc = {
  EN: 1,
  /** MPS: bits 10..7 (page size 2^(12+MPS)). */
  mps: (cc: number) => (cc >>> 7) & 0xf,
  /** SHN: bits 15..14 (0 none, 1 normal, 2 abrupt). */
  shn: (cc: number) => (cc >>> 14) & 0x3,
  /** IOSQES: bits 19..16 (2^n bytes per submission entry). */
  iosqes: (cc: number) => (cc >>> 16) & 0xf,
  /** IOCQES: bits 23..20. */
  iocqes: (cc: number) => (cc >>> 20) & 0xf,
  /** Every field a host may write: EN, CSS, MPS, AMS, SHN, IOSQES, IOCQES. */
  WRITABLE: 0x00fffff1,
} as const;

/** CSTS bits. */
export const Csts = {
  RDY: 1,
  CFS: 2,
  /** SHST (bits 3..2): shutdown processing occurring. */
  SHST_OCCURRING: 1 << 2,
  /** SHST: shutdown processing complete. */
  SHST_COMPLETE: 2 << 2,
  SHST_MASK: 3 << 2,
} as const;

/** AQA fields: admin queue sizes, 0's based. */
export const Aqa = {
  asqs: (aqa: number) => (aqa & 0xfff) + 1,
  acqs: (aqa: number) => ((aqa >>> 16) & 0xfff) + 1,
} as const;

/** The register file (doorbells are decoded apart: see `doorbell`). */
export const nvmeRegisters = registerFile([
  { name: 'CAP_LO', offset: NvmeReg.CAP_LO, width: 4, reset: CAP_LO, writable: 0 },
  { name: 'CAP_HI', offset: NvmeReg.CAP_HI, width: 4, reset: CAP_HI, writable: 0 },
  { name: 'VS', offset: NvmeReg.VS, width: 4, reset: VERSION, writable: 0 },
  // INTMS sets mask bits, INTMC clears them; both read the mask (the controller keeps them equal).
  { name: 'INTMS', offset: NvmeReg.INTMS, width: 4, writable: 0, rw1s: 0xffffffff },
  { name: 'INTMC', offset: NvmeReg.INTMC, width: 4, writable: 0, rw1c: 0xffffffff },
  { name: 'CC', offset: NvmeReg.CC, width: 4, writable: Cc.WRITABLE },
  { name: 'CSTS', offset: NvmeReg.CSTS, width: 4, writable: 0 },
  // NVM subsystem reset is not supported (CAP.NSSRS 0): the register reads 0.
  { name: 'NSSR', offset: NvmeReg.NSSR, width: 4, writable: 0 },
  { name: 'AQA', offset: NvmeReg.AQA, width: 4, writable: 0x0fff0fff },
  { name: 'ASQ_LO', offset: NvmeReg.ASQ_LO, width: 4, writable: 0xfffff000 },
  { name: 'ASQ_HI', offset: NvmeReg.ASQ_HI, width: 4 },
  { name: 'ACQ_LO', offset: NvmeReg.ACQ_LO, width: 4, writable: 0xfffff000 },
  { name: 'ACQ_HI', offset: NvmeReg.ACQ_HI, width: 4 },
  // No controller memory buffer.
  { name: 'CMBLOC', offset: NvmeReg.CMBLOC, width: 4, writable: 0 },
  { name: 'CMBSZ', offset: NvmeReg.CMBSZ, width: 4, writable: 0 },
] as const);

/** The register values by name. */
export type NvmeRegs = RegisterValues<keyof typeof NvmeReg>;

/** A 64-bit register from its halves. */
export const u64 = (lo: number, hi: number): number => hi * 0x1_0000_0000 + lo;

/** A doorbell write: which queue, which side, the value (undefined when the access is not one doorbell). */
export interface Doorbell {
  readonly qid: number;
  /** True: a completion queue's head; false: a submission queue's tail. */
  readonly completion: boolean;
  readonly value: number;
}

/** Decodes a write at or above DOORBELLS; a write that is not 4 aligned bytes is not a doorbell write. */
export const doorbell = (offset: number, data: Buffer): Doorbell | undefined => {
  if (offset < DOORBELLS || offset % 4 !== 0 || data.length !== 4) return undefined;
  const index = (offset - DOORBELLS) >>> 2;
  return { qid: index >>> 1, completion: (index & 1) === 1, value: data.readUInt32LE(0) };
};

/** Offset of a queue's doorbell (for hosts). */
export const doorbellOffset = (qid: number, completion: boolean): number => DOORBELLS + (2 * qid + (completion ? 1 : 0)) * 4;
