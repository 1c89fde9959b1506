/**
 * The NVMe controller as one fold over BAR 0's accesses, the engine's events and resets
 * (accessFold): registers, doorbells, enable and disable, shutdown, and what the engine reports
 * back (entries fetched, commands done, fatal errors). The work its states start is the engine's
 * (engine.ts).
 */
import { accessFold, ringCount, type Folded, type RegionAccess, type RegionOperator } from '../../server/index.js';
import { GenericStatus, decodeSubmission, type Status } from './entries.js';
import { adminCommand, finishDeletion } from './admin.js';
import { IoOpcode } from './io.js';
import { AsyncEventInfo, AsyncEventType, LogPage } from './logs.js';
import { Aqa, Cc, Csts, DOORBELLS, doorbell, nvmeRegisters, u64 } from './registers.js';
import { complete, drain, entriesPending, intxMasked, raiseEvent } from './completions.js';
import { engine, updateIdle, type ControllerSnapshot, type NvmeEvent } from './engine.js';
import { merge } from 'rxjs';
import {
  completionQueue,
  defaultFeatures,
  initialController,
  replace,
  resetController,
  settle,
  submissionQueue,
  withWork,
  type Controller,
  type ControllerEnv,
  type SubmissionQueue,
  type Work,
} from './state.js';

export type { ControllerSnapshot, NvmeEvent } from './engine.js';

const csts = (s: Controller, bits: number, on: boolean): Controller => ({
  ...s,
  regs: nvmeRegisters.set(s.regs, { CSTS: on ? s.regs.CSTS | bits : s.regs.CSTS & ~bits }),
});

/** RDY drops after a disable once no work of any epoch is left. */
const drained = (s: Controller): Controller => ((s.regs.CC & Cc.EN) === 0 && s.busy === 0 && (s.regs.CSTS & Csts.RDY) !== 0 ? csts(s, Csts.RDY, false) : s);

/** CC.EN 0 to 1: the admin queues from AQA, ASQ and ACQ, and RDY; an unusable configuration is fatal (CFS). */
const enable = (s: Controller): Controller => {
  const { regs } = s;
  const asqs = Aqa.asqs(regs.AQA);
  const acqs = Aqa.acqs(regs.AQA);
  if (Cc.mps(regs.CC) !== 0 || asqs < 2 || acqs < 2) return csts(s, Csts.CFS, true);
  const sq = submissionQueue(0, u64(regs.ASQ_LO, regs.ASQ_HI), asqs, 0);
  const cq = completionQueue(0, u64(regs.ACQ_LO, regs.ACQ_HI), acqs, 0, true);
  return csts({ ...s, sqs: new Map([[0, sq]]), cqs: new Map([[0, cq]]) }, Csts.RDY, true);
};

/**
 * CC.EN 1 to 0, a controller reset: queues, outstanding requests and features go; work in flight
 * belongs to the old epoch (its results are dropped) and RDY stays until it is done. Logs stay.
 */
const disable = (s: Controller, env: ControllerEnv): Controller =>
  drained(resetController(s, env, nvmeRegisters.set(s.regs, { CSTS: s.regs.CSTS & (Csts.RDY | Csts.SHST_MASK), INTMS: 0, INTMC: 0 })));

/** A doorbell for a queue that does not exist or a value outside it: an error event, nothing else. */
const badDoorbell = (s: Controller, info: number): Controller => raiseEvent(s, { type: AsyncEventType.ERROR, info, log: LogPage.ERROR });

const onDoorbell = (s: Controller, offset: number, data: Buffer): Controller => {
  const db = doorbell(offset, data);
  if (!db || (s.regs.CSTS & Csts.RDY) === 0 || (s.regs.CC & Cc.EN) === 0) return s;
  if (db.completion) {
    const cq = s.cqs.get(db.qid);
    if (!cq) return badDoorbell(s, AsyncEventInfo.INVALID_DOORBELL_REGISTER);
    const r = cq.ring;
    // The new head may move only over entries the controller posted.
    if (db.value >= r.entries || (db.value - r.head + r.entries) % r.entries > ringCount(r)) return badDoorbell(s, AsyncEventInfo.INVALID_DOORBELL_VALUE);
    const next = drain({ ...s, cqs: replace(s.cqs, cq.id, { ...cq, ring: { ...r, head: db.value } }) }, cq.id);
    // A queue that still holds entries keeps INTx asserted: it is raised again (MSI-X is not).
    const after = next.cqs.get(cq.id)!;
    return after.interrupts && ringCount(after.ring) > 0 && !intxMasked(next) ? withWork(next, { kind: 'level', epoch: next.epoch }) : next;
  }
  const sq = s.sqs.get(db.qid);
  if (!sq || sq.deleting !== undefined) return badDoorbell(s, AsyncEventInfo.INVALID_DOORBELL_REGISTER);
  if (db.value >= sq.ring.entries) return badDoorbell(s, AsyncEventInfo.INVALID_DOORBELL_VALUE);
  const queued = { ...sq, ring: { ...sq.ring, tail: db.value } };
  return fetchNew({ ...s, sqs: replace(s.sqs, sq.id, queued) }, queued);
};

/** The entries a queue's tail has moved past and nothing has fetched yet: fetched, unless the controller is stopped. */
const fetchNew = (s: Controller, sq: SubmissionQueue): Controller => {
  const r = sq.ring;
  const count = (r.tail - sq.fetch + r.entries) % r.entries;
  if (count === 0 || s.stopped) return s;
  const fetch: Work = { kind: 'fetch', epoch: s.epoch, sqid: sq.id, ring: { ...r, head: sq.fetch } };
  return withWork({ ...s, busy: s.busy + count, sqs: replace(s.sqs, sq.id, { ...sq, fetch: r.tail, inflight: sq.inflight + count }) }, fetch);
};

const onRegisterWrite = (s: Controller, offset: number, data: Buffer, env: ControllerEnv): Controller => {
  const { values, changes } = nvmeRegisters.write(s.regs, offset, data);
  let next: Controller = { ...s, regs: values };
  for (const c of changes) {
    switch (c.name) {
      case 'INTMS':
      case 'INTMC': {
        // One mask, read through both.
        const mask = c.after;
        next = { ...next, regs: nvmeRegisters.set(next.regs, { INTMS: mask, INTMC: mask }) };
        const unmasked = (c.before & 1) !== 0 && (mask & 1) === 0;
        if (unmasked && entriesPending(next)) next = withWork(next, { kind: 'level', epoch: next.epoch });
        break;
      }
      case 'CC': {
        if ((c.before & Cc.EN) === 0 && (c.after & Cc.EN) !== 0) next = enable(next);
        else if ((c.before & Cc.EN) !== 0 && (c.after & Cc.EN) === 0) next = disable(next, env);
        const shn = Cc.shn(c.after);
        if (Cc.shn(c.before) === 0 && shn !== 0) {
          next = withWork({ ...csts(next, Csts.SHST_MASK, false), busy: next.busy + 1 }, { kind: 'shutdown', epoch: next.epoch });
          next = csts(next, Csts.SHST_OCCURRING, true);
        } else if (shn === 0 && Cc.shn(c.before) !== 0) next = csts(next, Csts.SHST_MASK, false);
        break;
      }
      default:
        break;
    }
  }
  return next;
};

const onAccess = (s0: Controller, a: RegionAccess, env: ControllerEnv): Folded<Controller> => {
  const s = settle(s0);
  if (a.kind === 'read') return { state: s, result: { access: a, data: nvmeRegisters.read(s.regs, a.offset, a.count) } };
  const state = a.offset >= DOORBELLS ? onDoorbell(s, a.offset, a.data) : onRegisterWrite(s, a.offset, a.data, env);
  return { state, result: { access: a } };
};

const ABORTED_SQ_DELETED: Status = { sct: 0, sc: GenericStatus.ABORTED_SQ_DELETED };

/** Entries read from a queue: admin commands step the state here, I/O commands go to the engine. */
const onFetched = (s: Controller, e: NvmeEvent & { kind: 'fetched' }, env: ControllerEnv): Controller => {
  if (e.epoch !== s.epoch) return drained({ ...s, busy: s.busy - e.entries.length });
  const sq0 = s.sqs.get(e.sqid);
  if (!sq0) return drained({ ...s, busy: s.busy - e.entries.length });
  let next: Controller = { ...s, sqs: replace(s.sqs, e.sqid, { ...sq0, ring: { ...sq0.ring, head: e.to } }) };
  const defaults = defaultFeatures(env);
  for (const bytes of e.entries) {
    const command = decodeSubmission(bytes);
    const sq = next.sqs.get(e.sqid)!;
    if (e.sqid === 0) {
      next = adminCommand({ ...next, busy: next.busy - 1, sqs: replace(next.sqs, 0, { ...sq, inflight: sq.inflight - 1 }) }, command, env, defaults);
    } else if (sq.deleting !== undefined) {
      next = complete({ ...next, busy: next.busy - 1, sqs: replace(next.sqs, sq.id, { ...sq, inflight: sq.inflight - 1 }) }, sq.id, command.cid, ABORTED_SQ_DELETED);
    } else {
      next = withWork(next, { kind: 'io', epoch: next.epoch, sqid: e.sqid, command });
    }
  }
  return finishDeletion(next, e.sqid);
};

const onDone = (s: Controller, e: NvmeEvent & { kind: 'done' }): Controller => {
  const freed = { ...s, busy: s.busy - 1 };
  if (e.epoch !== s.epoch) return drained(freed);
  const sq = freed.sqs.get(e.sqid);
  if (!sq) return freed;
  const r = e.result;
  const h = freed.health;
  const health = {
    ...h,
    bytesRead: h.bytesRead + (r.bytesRead ?? 0),
    bytesWritten: h.bytesWritten + (r.bytesWritten ?? 0),
    readCommands: h.readCommands + (e.sqid !== 0 && e.opcode === IoOpcode.READ ? 1 : 0),
    writeCommands: h.writeCommands + (e.sqid !== 0 && e.opcode === IoOpcode.WRITE ? 1 : 0),
  };
  const next = { ...freed, health, sqs: replace(freed.sqs, e.sqid, { ...sq, inflight: sq.inflight - (e.sqid === 0 ? 0 : 1) }) };
  return finishDeletion(complete(next, e.sqid, e.cid, r.status, e.dw0, { nsid: e.nsid, ...(r.lba !== undefined ? { lba: r.lba } : {}) }), e.sqid);
};

const onEvent = (s0: Controller, e: NvmeEvent, env: ControllerEnv): Controller => {
  const s = settle(s0);
  switch (e.kind) {
    case 'fetched':
      return onFetched(s, e, env);
    case 'done':
      return onDone(s, e);
    case 'fatal': {
      const freed = drained({ ...s, busy: s.busy - e.count });
      return e.epoch === freed.epoch ? csts(freed, Csts.CFS, true) : freed;
    }
    case 'stop':
      return { ...s, stopped: true };
    case 'run':
      return [...s.sqs.values()].reduce(fetchNew, { ...s, stopped: false });
    case 'load':
      // A saved state, idle and stopped, in a new epoch: work still in flight here is not its.
      return { ...e.state, epoch: s.epoch + 1, busy: s.busy, stopped: true, work: [] };
    case 'shutdown-done': {
      const freed = drained({ ...s, busy: s.busy - 1 });
      return e.epoch === freed.epoch && (freed.regs.CSTS & Csts.SHST_MASK) === Csts.SHST_OCCURRING
        ? csts(csts(freed, Csts.SHST_MASK, false), Csts.SHST_COMPLETE, true)
        : freed;
    }
  }
};

/** BAR 0's handler: the controller's fold and its engine. */
export const nvmeController = (env: ControllerEnv, snapshot: ControllerSnapshot): RegionOperator =>
  accessFold<Controller, NvmeEvent>({
    seed: () => initialController(env),
    access: (s, a) => onAccess(s, a, env),
    // DEVICE_RESET or FLR: everything as made, in a new epoch; work in flight still counts.
    // A device reset also ends a migration's stop (the migration state goes back to RUNNING).
    reset: (s) => ({ ...resetController(s, env, nvmeRegisters.initial()), stopped: false }),
    event: (s, e) => onEvent(s, e, env),
    events: (state$, ctx) => merge(engine(state$, ctx, env, snapshot), snapshot.control),
    effects: (s) => {
      snapshot.state = s;
      updateIdle(snapshot);
    },
  });
