/**
 * The controller's state, one immutable value the register fold steps: registers, queues, features,
 * outstanding event requests, logs, and the work the last step started (read by the controller's
 * engine once, then gone from the next state).
 */
import { ring, type Ring } from '../../server/index.js';
import { CQE_SIZE, SQE_SIZE, type Status, type Submission } from './entries.js';
import { nvmeRegisters, type NvmeRegs } from './registers.js';
import { noHealth, type AsyncEvent, type ErrorEntry, type Health } from './logs.js';
import type { ControllerIdentity, NamespaceIdentity } from './identify.js';
import type { BlockStore } from './namespace.js';

/** A submission queue: the ring (head: entries the controller has read; tail: the host's doorbell). */
export interface SubmissionQueue {
  readonly id: number;
  readonly ring: Ring;
  /** The next entry to fetch: entries from here to the tail are new. */
  readonly fetch: number;
  readonly cqid: number;
  /** Commands of this queue being fetched or executed. */
  readonly inflight: number;
  /** The Delete I/O Submission Queue command waiting for those to finish (its command id). */
  readonly deleting?: number;
}

/** A completion the queue had no room for yet. */
export interface PendingCompletion {
  readonly sqid: number;
  readonly cid: number;
  readonly status: Status;
  readonly dw0: number;
}

/** A completion queue: the ring (head: the host's doorbell; tail: the next slot the controller fills). */
export interface CompletionQueue {
  readonly id: number;
  readonly ring: Ring;
  /** MSI-X vector (and whether the queue interrupts at all). */
  readonly vector: number;
  readonly interrupts: boolean;
  /** Completions waiting for the host to free slots, oldest first. */
  readonly waiting: readonly PendingCompletion[];
}

/** The features a host sets (Set Features) and reads back. */
export interface Features {
  readonly arbitration: number;
  readonly powerManagement: number;
  /** Temperature thresholds by sensor (0 composite, 1 sensor 1): over and under, kelvin. */
  readonly temperature: readonly { readonly over: number; readonly under: number }[];
  readonly errorRecovery: number;
  readonly volatileWriteCache: boolean;
  /** I/O queues allocated by Number of Queues (submission, completion), 1-based counts. */
  readonly queues: { readonly sq: number; readonly cq: number };
  readonly coalescing: number;
  /** Interrupt vector configuration (coalescing disable) by vector. */
  readonly vectorConfig: Readonly<Record<number, number>>;
  readonly writeAtomicity: number;
  readonly asyncEvents: number;
}

/** Work a step started, for the controller's engine. Every item carries the reset epoch it belongs to. */
export type Work =
  /** Read the submission entries between `ring.head` and `ring.tail` of a queue. */
  | { readonly kind: 'fetch'; readonly epoch: number; readonly sqid: number; readonly ring: Ring }
  /** Execute an I/O command. */
  | { readonly kind: 'io'; readonly epoch: number; readonly sqid: number; readonly command: Submission }
  /** Transfer an admin command's data to the host, then complete it with `dw0`. */
  | { readonly kind: 'send'; readonly epoch: number; readonly sqid: number; readonly command: Submission; readonly data: Buffer; readonly dw0: number }
  /** Write a completion entry, then interrupt (`vector` undefined: the queue does not interrupt). */
  | { readonly kind: 'post'; readonly epoch: number; readonly address: number; readonly entry: Buffer; readonly vector?: number; readonly intxMasked: boolean }
  /** A completion queue still holds entries after its head moved: INTx is asserted again (MSI-X is not). */
  | { readonly kind: 'level'; readonly epoch: number }
  /** Make the namespace durable for a shutdown. */
  | { readonly kind: 'shutdown'; readonly epoch: number };

/** What the controller is made of, fixed at creation. */
export interface ControllerEnv {
  readonly identity: ControllerIdentity;
  readonly namespace: NamespaceIdentity;
  readonly store: BlockStore;
  /** MSI-X vectors (one per queue). */
  readonly vectors: number;
  /** Composite temperature, kelvin. */
  readonly temperature: number;
  /** When the controller was made (ms since the epoch), for the health log's power-on hours. */
  readonly born: number;
}

/** The controller. */
export interface Controller {
  readonly regs: NvmeRegs;
  /** Counts resets: work of an older epoch no longer touches queues or memory. */
  readonly epoch: number;
  readonly sqs: ReadonlyMap<number, SubmissionQueue>;
  readonly cqs: ReadonlyMap<number, CompletionQueue>;
  readonly features: Features;
  /** Command ids of the outstanding Asynchronous Event Requests, oldest first. */
  readonly aers: readonly number[];
  /** Events not yet reported, oldest first. */
  readonly events: readonly AsyncEvent[];
  /** Log pages whose events are masked until the host reads them. */
  readonly masked: readonly number[];
  readonly errors: readonly ErrorEntry[];
  readonly health: Health;
  /** Work of any epoch not finished (fetches, commands, shutdown): RDY drops after a disable only at 0. */
  readonly busy: number;
  /** Stopped for migration: doorbells are taken, but no command is fetched until it runs again. */
  readonly stopped: boolean;
  readonly work: readonly Work[];
}

export const defaultFeatures = (env: ControllerEnv): Features => ({
  arbitration: 0,
  powerManagement: 0,
  temperature: [
    { over: env.identity.warningTemp, under: 0 },
    { over: 0xffff, under: 0 },
  ],
  errorRecovery: 0,
  volatileWriteCache: true,
  queues: { sq: env.identity.queues, cq: env.identity.queues },
  coalescing: 0,
  vectorConfig: {},
  writeAtomicity: 0,
  asyncEvents: 0,
});

/** A controller as made, and after a DEVICE_RESET or FLR: registers at their reset values, no queues. */
export const initialController = (env: ControllerEnv, epoch = 0): Controller => ({
  regs: nvmeRegisters.initial(),
  epoch,
  sqs: new Map(),
  cqs: new Map(),
  features: defaultFeatures(env),
  aers: [],
  events: [],
  masked: [],
  errors: [],
  health: noHealth,
  busy: 0,
  stopped: false,
  work: [],
});

/**
 * A reset (CC.EN cleared, DEVICE_RESET, FLR) in a new epoch, with `regs`: queues, outstanding
 * requests, events and features go; work in flight still counts (busy), and the logs stay.
 */
export const resetController = (s: Controller, env: ControllerEnv, regs: NvmeRegs): Controller => ({
  ...initialController(env, s.epoch + 1),
  regs,
  busy: s.busy,
  stopped: s.stopped,
  health: s.health,
  errors: s.errors,
});

/** The state with the work of the previous step gone (every step starts here). */
export const settle = (s: Controller): Controller => (s.work.length === 0 ? s : { ...s, work: [] });

/** Adds work to the step's state. */
export const withWork = (s: Controller, ...work: Work[]): Controller => ({ ...s, work: [...s.work, ...work] });

/** A map with one entry replaced (or removed with `undefined`). */
export const replace = <K, V>(m: ReadonlyMap<K, V>, key: K, value: V | undefined): ReadonlyMap<K, V> => {
  const next = new Map(m);
  if (value === undefined) next.delete(key);
  else next.set(key, value);
  return next;
};

/** A new submission queue. */
export const submissionQueue = (id: number, base: number, entries: number, cqid: number): SubmissionQueue => ({
  id,
  ring: ring({ base, entries, entrySize: SQE_SIZE }),
  fetch: 0,
  cqid,
  inflight: 0,
});

/** A new completion queue. */
export const completionQueue = (id: number, base: number, entries: number, vector: number, interrupts: boolean): CompletionQueue => ({
  id,
  ring: ring({ base, entries, entrySize: CQE_SIZE }),
  vector,
  interrupts,
  waiting: [],
});

