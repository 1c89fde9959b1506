import type { SchedulerLike } from 'rxjs';
import { native as defaultNative } from '../native/index.js';
import type { Native } from '../native/types.js';
import type { CapabilitiesInput } from '../protocol/capabilities.js';
import type { GuestMemory } from '../streams/memory.js';
import type { TraceEvent } from '../wire/trace.js';

/** How guest memory is offered for DMA: with its memfd (the server mmaps it) or by address only. */
export type DmaMode = 'fd' | 'message';

/** How a client reconnects when its server goes away (see ClientOptions.reconnect). */
export interface ReconnectOptions {
  /** Attempts after each loss before giving up (default 5). */
  readonly attempts?: number;
  /** Delay before the first attempt, doubled for each next one (default 100 ms). */
  readonly backoffMs?: number;
  /** Longest delay between attempts (default 5000 ms). */
  readonly maxBackoffMs?: number;
  /**
   * Requests in flight when the connection went: 'fail' them with DisconnectedError (default), or
   * 'retry' them on the next connection (they may then run twice on the server: a write sent before
   * the loss may have been done).
   */
  readonly inFlight?: 'fail' | 'retry';
}

/** Options of a client device (QEMU's vfio-user-pci properties and more). */
export interface ClientOptions {
  /** Path of the server's UNIX socket. Exclusive with `fd`. */
  readonly socketPath?: string;
  /** An already-connected socket fd; the client takes ownership of it. Exclusive with `socketPath`. */
  readonly fd?: number;
  /** Guest memory mapped for the server's DMA; without it the server has no DMA mappings. */
  readonly memory?: GuestMemory;
  /** Reply timeout per request in ms (QEMU's x-msg-timeout; default 5000; 0 = none). */
  readonly timeoutMs?: number;
  /** Post BAR writes with No_reply (default true; QEMU's x-no-posted-writes inverted). */
  readonly postedWrites?: boolean;
  /** Largest request payload sent, whatever the peer allows (default 128 KiB). */
  readonly maxRequestBody?: number;
  /** Our max_data_xfer_size: the largest DMA_READ/WRITE we serve (default 1 MiB). */
  readonly maxDataXferSize?: number;
  /** Our max_msg_fds: the most fds we accept in one message (default 16, as QEMU). */
  readonly maxMsgFds?: number;
  /** Offer the twin socket (default true). */
  readonly twinSocket?: boolean;
  /** 'fd' (default) sends memfds when the server accepts fds; 'message' never does. */
  readonly dmaMode?: DmaMode;
  /** Coalesce posted writes into REGION_WRITE_MULTI when the server offers it (default true). */
  readonly writeMulti?: boolean;
  /** Queued bytes on the socket above which posted writes are coalesced (default 40 KiB). */
  readonly writeMultiThreshold?: number;
  /** Unmask an automasked interrupt (INTx) as soon as it is emitted, without waiting for ack(). */
  readonly autoAck?: boolean;
  /** Called with every message sent or received from the first one on (VERSION included), on both sockets. */
  readonly onTrace?: (event: TraceEvent) => void;
  /** Scheduler of every timeout (tests pass a TestScheduler). */
  readonly scheduler?: SchedulerLike;
  /** The native layer (tests may wrap it). */
  readonly native?: Native;
  /**
   * Reconnect to `socketPath` when the server goes away: VERSION again, guest memory mapped again
   * and interrupt eventfds handed over again, mapped regions then reached by message. Requests in
   * flight when the connection went fail with DisconnectedError (or are sent again: `inFlight`);
   * requests made while reconnecting wait for the new connection. closed$ ends only when the
   * attempts run out. Off by default.
   */
  readonly reconnect?: ReconnectOptions | boolean;
}

/** Options with every default filled in. */
export interface ResolvedOptions {
  readonly memory: GuestMemory | undefined;
  readonly timeoutMs: number;
  readonly postedWrites: boolean;
  readonly maxRequestBody: number;
  readonly maxDataXferSize: number;
  readonly maxMsgFds: number;
  readonly twinSocket: boolean;
  readonly dmaMode: DmaMode;
  readonly writeMulti: boolean;
  readonly writeMultiThreshold: number;
  readonly autoAck: boolean;
  readonly onTrace: ((event: TraceEvent) => void) | undefined;
  readonly scheduler: SchedulerLike | undefined;
  readonly native: Native;
  readonly reconnect: Required<ReconnectOptions> | undefined;
}

/** Default bound on a request payload: a libvfio-user server reads a body with one recv() (its issue #306). */
export const DEFAULT_MAX_REQUEST_BODY = 128 << 10;
/** Default queued-bytes threshold: about QEMU's 1024 queued messages of a small posted write. */
export const DEFAULT_WRITE_MULTI_THRESHOLD = 40 << 10;

const atLeast = (name: string, value: number, min: number): number => {
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`${name}: ${value} is not an integer >= ${min}`);
  return value;
};

const resolveReconnect = (o: ClientOptions): Required<ReconnectOptions> | undefined => {
  if (!o.reconnect) return undefined;
  if (o.socketPath === undefined) throw new RangeError('reconnect needs socketPath (an fd cannot be connected again)');
  const r = o.reconnect === true ? {} : o.reconnect;
  return {
    attempts: atLeast('reconnect.attempts', r.attempts ?? 5, 1),
    backoffMs: atLeast('reconnect.backoffMs', r.backoffMs ?? 100, 0),
    maxBackoffMs: atLeast('reconnect.maxBackoffMs', r.maxBackoffMs ?? 5000, 0),
    inFlight: r.inFlight ?? 'fail',
  };
};

/** Fills in the defaults and checks the numbers. */
export const resolveOptions = (o: ClientOptions): ResolvedOptions => ({
  memory: o.memory,
  timeoutMs: o.timeoutMs ?? 5000,
  postedWrites: o.postedWrites ?? true,
  // A body must hold at least a region access header and one byte of data.
  maxRequestBody: atLeast('maxRequestBody', o.maxRequestBody ?? DEFAULT_MAX_REQUEST_BODY, 17),
  maxDataXferSize: atLeast('maxDataXferSize', o.maxDataXferSize ?? 1 << 20, 1),
  maxMsgFds: atLeast('maxMsgFds', o.maxMsgFds ?? 16, 0),
  twinSocket: o.twinSocket ?? true,
  dmaMode: o.dmaMode ?? 'fd',
  writeMulti: o.writeMulti ?? true,
  writeMultiThreshold: o.writeMultiThreshold ?? DEFAULT_WRITE_MULTI_THRESHOLD,
  autoAck: o.autoAck ?? false,
  onTrace: o.onTrace,
  scheduler: o.scheduler,
  native: o.native ?? defaultNative,
  reconnect: resolveReconnect(o),
});

/** The limits we advertise in VERSION (what we can receive), as QEMU does plus the twin socket. */
export const ourCapabilities = (o: ResolvedOptions): CapabilitiesInput => ({
  max_msg_fds: o.maxMsgFds,
  max_data_xfer_size: o.maxDataXferSize,
  max_dma_maps: 65535,
  pgsizes: 4096,
  ...(o.twinSocket ? { twin_socket: { supported: true } } : {}),
  write_multiple: true,
});
