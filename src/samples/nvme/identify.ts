/**
 * The Identify data structures (NVMe base specification 1.4, section 5.15.2; the I/O command set
 * specific ones of NVMe 2.0, which Linux asks for): what the controller and its one namespace are.
 */
import { MAX_QUEUE_ENTRIES, VERSION } from './registers.js';

/** Identify CNS values the controller answers. */
export const Cns = {
  NAMESPACE: 0x00,
  CONTROLLER: 0x01,
  ACTIVE_NAMESPACES: 0x02,
  NAMESPACE_DESCRIPTORS: 0x03,
  /** I/O command set specific namespace (NVM: nothing beyond the defaults). */
  CS_NAMESPACE: 0x05,
  /** I/O command set specific controller (NVM: no size limits beyond MDTS). */
  CS_CONTROLLER: 0x06,
} as const;

/** Size of every Identify data structure. */
export const IDENTIFY_SIZE = 4096;

/** ONCS bits: optional NVM commands. */
export const Oncs = { DATASET_MANAGEMENT: 1 << 2, WRITE_ZEROES: 1 << 3 } as const;

/** What the Identify data says about the controller (fixed at creation). */
export interface ControllerIdentity {
  readonly vendorId: number;
  readonly subsystemVendorId: number;
  /** Serial number (up to 20 ASCII characters). */
  readonly serial: string;
  /** Model number (up to 40). */
  readonly model: string;
  /** Firmware revision (up to 8). */
  readonly firmware: string;
  /** Maximum data transfer size, as a power of two of pages (MDTS). */
  readonly mdts: number;
  /** I/O queue pairs the controller offers. */
  readonly queues: number;
  /** Asynchronous event requests it keeps at once (AERL + 1). */
  readonly aerLimit: number;
  /** Error log entries it keeps (ELPE + 1). */
  readonly errorLogEntries: number;
  /** Warning and critical composite temperature thresholds, kelvin. */
  readonly warningTemp: number;
  readonly criticalTemp: number;
}

/** What the Identify data says about the namespace. */
export interface NamespaceIdentity {
  readonly blocks: number;
  /** log2 of the block size (9: 512 bytes, 12: 4 KiB). */
  readonly blockShift: number;
  /** 16 bytes: the namespace's globally unique id (and its UUID). */
  readonly nguid: Buffer;
}

const ascii = (b: Buffer, at: number, length: number, text: string): void => {
  b.fill(0x20, at, at + length);
  b.write(text.slice(0, length), at, 'ascii');
};

const u64le = (b: Buffer, at: number, v: number): void => {
  b.writeUInt32LE(v % 0x1_0000_0000, at);
  b.writeUInt32LE(Math.floor(v / 0x1_0000_0000), at + 4);
};

/** The NVMe Qualified Name of the controller's subsystem. */
export const subsystemNqn = (id: ControllerIdentity): string => `nqn.2026-12.io.github.vfio-user-rx:nvme:${id.serial}`;

/** Identify Controller (CNS 1). */
export const identifyController = (id: ControllerIdentity, features: { readonly volatileWriteCache: boolean }): Buffer => {
  const b = Buffer.alloc(IDENTIFY_SIZE);
  b.writeUInt16LE(id.vendorId, 0);
  b.writeUInt16LE(id.subsystemVendorId, 2);
  ascii(b, 4, 20, id.serial);
  ascii(b, 24, 40, id.model);
  ascii(b, 64, 8, id.firmware);
  b[72] = 6; // RAB: arbitration burst of 64 commands
  b[77] = id.mdts;
  b.writeUInt16LE(1, 78); // CNTLID
  b.writeUInt32LE(VERSION, 80);
  b[111] = 1; // CNTRLTYPE: I/O controller
  b[258] = 3; // ACL: 4 concurrent Aborts (0's based)
  b[259] = id.aerLimit - 1; // AERL (0's based)
  b[260] = 0x03; // FRMW: one firmware slot, read-only
  b[262] = id.errorLogEntries - 1; // ELPE (0's based)
  b.writeUInt16LE(id.warningTemp, 266);
  b.writeUInt16LE(id.criticalTemp, 268);
  b[512] = 0x66; // SQES: 64-byte entries, required and maximum
  b[513] = 0x44; // CQES: 16-byte entries
  b.writeUInt16LE(MAX_QUEUE_ENTRIES, 514); // MAXCMD
  b.writeUInt32LE(1, 516); // NN: one namespace
  b.writeUInt16LE(Oncs.DATASET_MANAGEMENT | Oncs.WRITE_ZEROES, 520);
  b[525] = features.volatileWriteCache ? 1 : 0; // VWC present: Flush makes writes durable
  b.write(subsystemNqn(id), 768, 'ascii');
  b.writeUInt16LE(2500, 2048); // PSD0: 25 W maximum power
  return b;
};

/** Identify Namespace (CNS 0) of the namespace. */
export const identifyNamespace = (ns: NamespaceIdentity): Buffer => {
  const b = Buffer.alloc(IDENTIFY_SIZE);
  u64le(b, 0, ns.blocks); // NSZE
  u64le(b, 8, ns.blocks); // NCAP
  u64le(b, 16, ns.blocks); // NUSE
  b[25] = 0; // NLBAF: one format
  b[26] = 0; // FLBAS: format 0, no metadata
  b[33] = 0x01; // DLFEAT: deallocated blocks read as zeros
  ns.nguid.copy(b, 104);
  b[128 + 2] = ns.blockShift; // LBAF0: LBADS
  return b;
};

/** The active namespace list (CNS 2): namespace ids above `after`. */
export const activeNamespaces = (after: number): Buffer => {
  const b = Buffer.alloc(IDENTIFY_SIZE);
  if (after < 1) b.writeUInt32LE(1, 0);
  return b;
};

/** The namespace identification descriptors (CNS 3): NGUID, UUID and the command set (NVM). */
export const namespaceDescriptors = (ns: NamespaceIdentity): Buffer => {
  const b = Buffer.alloc(IDENTIFY_SIZE);
  let at = 0;
  const put = (type: number, id: Buffer) => {
    b[at] = type;
    b[at + 1] = id.length;
    id.copy(b, at + 4);
    at += 4 + id.length;
  };
  // The UUID is the NGUID with the version (4) and variant bits a UUID has.
  const uuid = Buffer.from(ns.nguid);
  uuid[6] = (uuid[6]! & 0x0f) | 0x40;
  uuid[8] = (uuid[8]! & 0x3f) | 0x80;
  put(2, ns.nguid);
  put(3, uuid);
  put(4, Buffer.from([0]));
  return b;
};
