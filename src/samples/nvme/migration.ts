/**
 * The controller's migration data: its state (registers, queues, features, outstanding requests,
 * events, logs) as JSON, then the namespace's bytes when they live in memory (a namespace in a file
 * is shared storage: the destination opens the same file). Saved stopped and idle, so no work is in it.
 *
 * Layout: "NVMESTATE" magic (9 bytes), version (u8), flags (u8: bit 0, the namespace follows),
 * JSON length (u32 LE), the JSON, then the namespace (its size is the JSON's `namespaceBytes`).
 */
import { ring, type Ring } from '../../server/index.js';
import { nvmeRegisters } from './registers.js';
import { MAX_QUEUE_ENTRIES } from './registers.js';
import type { CompletionQueue, Controller, SubmissionQueue } from './state.js';

const MAGIC = Buffer.from('NVMESTATE', 'ascii');
const VERSION = 1;
const HEADER = MAGIC.length + 2 + 4;
const WITH_NAMESPACE = 1;

/** A saved controller that cannot be taken: wrong magic, version, size or a field out of range. */
export class NvmeStateError extends Error {
  readonly code = 'ERR_NVME_STATE';
}

interface Saved {
  readonly regs: number[];
  readonly sqs: SubmissionQueue[];
  readonly cqs: CompletionQueue[];
  readonly rest: Omit<Controller, 'regs' | 'sqs' | 'cqs' | 'work' | 'busy' | 'epoch' | 'stopped'>;
  readonly namespaceBytes: number;
}

/** The header and JSON of a saved controller; the namespace's bytes, when it goes along, come after. */
export const saveController = (s: Controller, namespace: { readonly size: number; readonly included: boolean }): Buffer => {
  const { regs, sqs, cqs, work: _work, busy: _busy, epoch: _epoch, stopped: _stopped, ...rest } = s;
  const saved: Saved = { regs: [...nvmeRegisters.image(regs)], sqs: [...sqs.values()], cqs: [...cqs.values()], rest, namespaceBytes: namespace.size };
  const json = Buffer.from(JSON.stringify(saved), 'utf8');
  const header = Buffer.alloc(HEADER);
  MAGIC.copy(header, 0);
  header[MAGIC.length] = VERSION;
  header[MAGIC.length + 1] = namespace.included ? WITH_NAMESPACE : 0;
  header.writeUInt32LE(json.length, MAGIC.length + 2);
  return Buffer.concat([header, json]);
};

const fail = (what: string): never => {
  throw new NvmeStateError(`NVMe migration data: ${what}`);
};

const checkRing = (r: Ring, entrySize: number, what: string): Ring => {
  if (!Number.isInteger(r.entries) || r.entries < 2 || r.entries > MAX_QUEUE_ENTRIES) fail(`${what} has ${r.entries} entries`);
  for (const k of ['head', 'tail'] as const) if (!Number.isInteger(r[k]) || r[k] < 0 || r[k] >= r.entries) fail(`${what}'s ${k} ${r[k]}`);
  if (!Number.isInteger(r.wraps) || r.wraps < 0) fail(`${what}'s wraps ${r.wraps}`);
  return { ...ring({ base: r.base, entries: r.entries, entrySize }), head: r.head, tail: r.tail, wraps: r.wraps };
};

/** A saved controller read back (stopped, idle), and the namespace's bytes when they came along. */
export const loadController = (data: Buffer, namespaceSize: number): { readonly state: Omit<Controller, 'epoch' | 'busy'>; readonly namespace?: Buffer } => {
  if (data.length < HEADER || !data.subarray(0, MAGIC.length).equals(MAGIC)) fail('not an NVMe controller state');
  if (data[MAGIC.length] !== VERSION) fail(`version ${data[MAGIC.length]}, this controller reads ${VERSION}`);
  const withNamespace = (data[MAGIC.length + 1]! & WITH_NAMESPACE) !== 0;
  const length = data.readUInt32LE(MAGIC.length + 2);
  if (HEADER + length > data.length) fail('cut short');
  let saved: Saved;
  try {
    saved = JSON.parse(data.toString('utf8', HEADER, HEADER + length)) as Saved;
  } catch (err) {
    return fail(`unreadable (${(err as Error).message})`);
  }
  if (saved.namespaceBytes !== namespaceSize) fail(`a namespace of ${saved.namespaceBytes} bytes, this one has ${namespaceSize}`);
  const rest = data.subarray(HEADER + length);
  if (rest.length !== (withNamespace ? namespaceSize : 0)) fail(`${rest.length} bytes after the state`);
  if (!Array.isArray(saved.regs) || saved.regs.length !== nvmeRegisters.size) fail('registers');
  const sqs = new Map(
    saved.sqs.map((q): [number, SubmissionQueue] => {
      const r = checkRing(q.ring, 64, `SQ ${q.id}`);
      if (!Number.isInteger(q.fetch) || q.fetch < 0 || q.fetch >= r.entries) fail(`SQ ${q.id}'s fetch ${q.fetch}`);
      if (q.deleting !== undefined) fail(`SQ ${q.id} saved while being deleted`);
      return [q.id, { ...q, ring: r, inflight: 0 }];
    }),
  );
  const cqs = new Map(saved.cqs.map((q): [number, CompletionQueue] => [q.id, { ...q, ring: checkRing(q.ring, 16, `CQ ${q.id}`) }]));
  for (const sq of sqs.values()) if (!cqs.has(sq.cqid)) fail(`SQ ${sq.id} completes to CQ ${sq.cqid}, which is not there`);
  return {
    state: { ...saved.rest, regs: nvmeRegisters.fromImage(Buffer.from(saved.regs)), sqs, cqs, stopped: true, work: [] },
    ...(withNamespace ? { namespace: rest } : {}),
  };
};
