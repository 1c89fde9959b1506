/**
 * Log pages (NVMe base specification 1.4, section 5.14.1) and the asynchronous events that point
 * at them: the error information log, SMART / health information and the firmware slot log.
 */

/** Log page identifiers the controller answers. */
export const LogPage = { ERROR: 0x01, HEALTH: 0x02, FIRMWARE_SLOT: 0x03 } as const;

/** Size of a log page (the error log: per entry). */
export const ERROR_ENTRY_SIZE = 64;
export const HEALTH_SIZE = 512;
export const FIRMWARE_SLOT_SIZE = 512;

/** One entry of the error information log. */
export interface ErrorEntry {
  /** The controller's error count when it happened (unique, from 1). */
  readonly count: number;
  readonly sqid: number;
  readonly cid: number;
  /** The completion's status field (bits 15..1 of DW3's upper half; phase excluded). */
  readonly status: number;
  readonly nsid: number;
  readonly lba: number;
}

/** What the health log counts. */
export interface Health {
  /** Bytes the host read and wrote, and its read and write commands. */
  readonly bytesRead: number;
  readonly bytesWritten: number;
  readonly readCommands: number;
  readonly writeCommands: number;
  /** Errors the controller logged. */
  readonly errors: number;
}

export const noHealth: Health = { bytesRead: 0, bytesWritten: 0, readCommands: 0, writeCommands: 0, errors: 0 };

/** SMART critical warning bits. */
export const CriticalWarning = { TEMPERATURE: 1 << 1 } as const;

const u64le = (b: Buffer, at: number, v: number): void => {
  b.writeUInt32LE(v % 0x1_0000_0000, at);
  b.writeUInt32LE(Math.floor(v / 0x1_0000_0000), at + 4);
};

/** The error information log: newest entry first, `capacity` entries (zeros past those kept). */
export const errorLog = (entries: readonly ErrorEntry[], capacity: number): Buffer => {
  const b = Buffer.alloc(capacity * ERROR_ENTRY_SIZE);
  entries.slice(-capacity).reverse().forEach((e, i) => {
    const at = i * ERROR_ENTRY_SIZE;
    u64le(b, at, e.count);
    b.writeUInt16LE(e.sqid, at + 8);
    b.writeUInt16LE(e.cid, at + 10);
    b.writeUInt16LE((e.status << 1) & 0xffff, at + 12);
    b.writeUInt16LE(0xffff, at + 14); // parameter error location: not given
    u64le(b, at + 16, e.lba);
    b.writeUInt32LE(e.nsid >>> 0, at + 24);
  });
  return b;
};

/** The SMART / health information log of the whole controller. */
export const healthLog = (h: Health, temperature: number, warning: number, powerOnHours: number): Buffer => {
  const b = Buffer.alloc(HEALTH_SIZE);
  b[0] = warning;
  b.writeUInt16LE(temperature, 1);
  b[3] = 100; // available spare
  b[4] = 10; // available spare threshold
  // Data units are thousands of 512-byte units, rounded up.
  u64le(b, 32, Math.ceil(h.bytesRead / 512_000));
  u64le(b, 48, Math.ceil(h.bytesWritten / 512_000));
  u64le(b, 64, h.readCommands);
  u64le(b, 80, h.writeCommands);
  u64le(b, 112, 1); // power cycles
  u64le(b, 128, powerOnHours);
  u64le(b, 176, h.errors);
  b.writeUInt16LE(temperature, 200); // sensor 1
  return b;
};

/** The firmware slot log: slot 1 active, holding `revision`. */
export const firmwareSlotLog = (revision: string): Buffer => {
  const b = Buffer.alloc(FIRMWARE_SLOT_SIZE);
  b[0] = 1;
  b.fill(0x20, 8, 16);
  b.write(revision.slice(0, 8), 8, 'ascii');
  return b;
};

/** Asynchronous event types. */
export const AsyncEventType = { ERROR: 0, HEALTH: 1 } as const;

/** Asynchronous event information of the error and health types. */
export const AsyncEventInfo = {
  INVALID_DOORBELL_REGISTER: 0x00,
  INVALID_DOORBELL_VALUE: 0x01,
  TEMPERATURE_THRESHOLD: 0x01,
} as const;

/** An asynchronous event: its type, information, and the log page that tells more. */
export interface AsyncEvent {
  readonly type: number;
  readonly info: number;
  readonly log: number;
}

/** The event as an Asynchronous Event Request's completion dword 0. */
export const asyncEventDw0 = (e: AsyncEvent): number => ((e.type & 0x7) | ((e.info & 0xff) << 8) | ((e.log & 0xff) << 16)) >>> 0;
