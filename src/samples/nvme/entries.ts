/**
 * NVMe queue entries (NVMe base specification 1.4, section 4.2 and 4.6): the 64-byte submission
 * queue entry a host writes and the 16-byte completion queue entry a controller posts.
 */

/** A submission queue entry, decoded (the fields every command has; CDW10-15 are the command's own). */
export interface Submission {
  readonly opcode: number;
  /** Fused operation (0: none). */
  readonly fuse: number;
  /** PRP or SGL for data transfer (0: PRPs, the only kind a controller must support for I/O). */
  readonly psdt: number;
  /** Command identifier, echoed in the completion. */
  readonly cid: number;
  readonly nsid: number;
  readonly prp1: number;
  readonly prp2: number;
  /** Command dwords 10 to 15. */
  readonly cdw: readonly [number, number, number, number, number, number];
}

/** Size of a submission queue entry. */
export const SQE_SIZE = 64;
/** Size of a completion queue entry. */
export const CQE_SIZE = 16;

/** A little-endian u64 field as a number (guest addresses stay below 2^53). */
export const readU64 = (b: Buffer, at: number): number => b.readUInt32LE(at + 4) * 0x1_0000_0000 + b.readUInt32LE(at);

/** Decodes a submission queue entry (RangeError for one that is not 64 bytes). */
export const decodeSubmission = (b: Buffer): Submission => {
  if (b.length !== SQE_SIZE) throw new RangeError(`a submission entry is ${SQE_SIZE} bytes, not ${b.length}`);
  const cdw0 = b.readUInt32LE(0);
  return {
    opcode: cdw0 & 0xff,
    fuse: (cdw0 >>> 8) & 0x3,
    psdt: (cdw0 >>> 14) & 0x3,
    cid: cdw0 >>> 16,
    nsid: b.readUInt32LE(4),
    prp1: readU64(b, 24),
    prp2: readU64(b, 32),
    cdw: [b.readUInt32LE(40), b.readUInt32LE(44), b.readUInt32LE(48), b.readUInt32LE(52), b.readUInt32LE(56), b.readUInt32LE(60)],
  };
};

/** Encodes a submission queue entry (what a host writes; for tests and host fixtures). */
export const encodeSubmission = (s: Partial<Submission> & Pick<Submission, 'opcode' | 'cid'>): Buffer => {
  const b = Buffer.alloc(SQE_SIZE);
  b.writeUInt32LE(((s.opcode & 0xff) | ((s.fuse ?? 0) << 8) | ((s.psdt ?? 0) << 14) | (s.cid << 16)) >>> 0, 0);
  b.writeUInt32LE(s.nsid ?? 0, 4);
  const put64 = (at: number, v: number) => {
    b.writeUInt32LE(v % 0x1_0000_0000, at);
    b.writeUInt32LE(Math.floor(v / 0x1_0000_0000), at + 4);
  };
  put64(24, s.prp1 ?? 0);
  put64(32, s.prp2 ?? 0);
  (s.cdw ?? [0, 0, 0, 0, 0, 0]).forEach((v, i) => b.writeUInt32LE(v >>> 0, 40 + 4 * i));
  return b;
};

/** A completion status: status code type and status code (0/0 is success), with Do Not Retry. */
export interface Status {
  readonly sct: number;
  readonly sc: number;
  readonly dnr?: boolean;
}

/** Generic command status codes (SCT 0) a controller answers with. */
export const GenericStatus = {
  SUCCESS: 0x00,
  INVALID_OPCODE: 0x01,
  INVALID_FIELD: 0x02,
  DATA_TRANSFER_ERROR: 0x04,
  ABORTED_BY_REQUEST: 0x07,
  ABORTED_SQ_DELETED: 0x08,
  INVALID_NAMESPACE: 0x0b,
  COMMAND_SEQUENCE_ERROR: 0x0c,
  PRP_OFFSET_INVALID: 0x13,
  LBA_OUT_OF_RANGE: 0x80,
} as const;

/** Command specific status codes (SCT 1) of the admin commands. */
export const CommandStatus = {
  COMPLETION_QUEUE_INVALID: 0x00,
  INVALID_QUEUE_IDENTIFIER: 0x01,
  INVALID_QUEUE_SIZE: 0x02,
  ASYNC_EVENT_LIMIT_EXCEEDED: 0x05,
  INVALID_INTERRUPT_VECTOR: 0x08,
  INVALID_LOG_PAGE: 0x09,
  INVALID_QUEUE_DELETION: 0x0c,
  FEATURE_NOT_SAVEABLE: 0x0d,
} as const;

export const SUCCESS: Status = { sct: 0, sc: GenericStatus.SUCCESS };

/** A generic command status (SCT 0) that retrying will not change (Do Not Retry). */
export const genericError = (sc: number): Status => ({ sct: 0, sc, dnr: true });

/** A command specific status (SCT 1), Do Not Retry. */
export const commandError = (sc: number): Status => ({ sct: 1, sc, dnr: true });

/** A completion queue entry, as the controller posts it. */
export interface Completion {
  /** Command specific dword 0. */
  readonly dw0: number;
  /** Where the controller's head of the submission queue is now. */
  readonly sqHead: number;
  readonly sqId: number;
  readonly cid: number;
  /** The phase tag of this pass through the completion queue. */
  readonly phase: 0 | 1;
  readonly status: Status;
}

/** Encodes a completion queue entry. */
export const encodeCompletion = (c: Completion): Buffer => {
  const b = Buffer.alloc(CQE_SIZE);
  b.writeUInt32LE(c.dw0 >>> 0, 0);
  b.writeUInt32LE(((c.sqHead & 0xffff) | ((c.sqId & 0xffff) << 16)) >>> 0, 8);
  const status = (c.status.sc & 0xff) | ((c.status.sct & 0x7) << 8) | (c.status.dnr ? 1 << 14 : 0);
  b.writeUInt32LE(((c.cid & 0xffff) | (c.phase << 16) | (status << 17)) >>> 0, 12);
  return b;
};

/** Decodes a completion queue entry (what a host reads; for tests and host fixtures). */
export const decodeCompletion = (b: Buffer): Completion => {
  if (b.length !== CQE_SIZE) throw new RangeError(`a completion entry is ${CQE_SIZE} bytes, not ${b.length}`);
  const dw2 = b.readUInt32LE(8);
  const dw3 = b.readUInt32LE(12);
  const status = dw3 >>> 17;
  return {
    dw0: b.readUInt32LE(0),
    sqHead: dw2 & 0xffff,
    sqId: dw2 >>> 16,
    cid: dw3 & 0xffff,
    phase: ((dw3 >>> 16) & 1) as 0 | 1,
    status: { sc: status & 0xff, sct: (status >>> 8) & 0x7, dnr: (status & (1 << 14)) !== 0 },
  };
};
