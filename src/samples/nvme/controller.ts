/**
 * The NVMe controller as one fold over BAR 0's accesses, its own events and resets (accessFold),
 * and the engine that does the work its states start: fetch submission entries, run I/O commands,
 * send admin data, write completion entries and interrupt. The engine's results come back into the
 * fold as events, so every decision (which completion slot, which phase, RDY, CFS) is the fold's.
 */
import { EMPTY, Observable, Subject, asapScheduler, catchError, concatMap, filter, ignoreElements, map, merge, mergeMap, of, share, tap, withLatestFrom, type OperatorFunction } from 'rxjs';
import { msixState } from '../../pci/index.js';
import { accessFold, consume, ringCount, type DeviceContext, type Folded, type RegionAccess, type RegionOperator } from '../../server/index.js';
import { GenericStatus, decodeSubmission, type Status } from './entries.js';
import { prpSegments } from './prp.js';
import { adminCommand, finishDeletion, maxTransfer } from './admin.js';
import { IoOpcode, failed, ioCommand, toSegments, type IoResult } from './io.js';
import { AsyncEventInfo, AsyncEventType, LogPage } from './logs.js';
import { Aqa, Cc, Csts, DOORBELLS, PAGE_SIZE, doorbell, nvmeRegisters, u64 } from './registers.js';
import {
  completionQueue,
  complete,
  defaultFeatures,
  drain,
  entriesPending,
  initialController,
  intxMasked,
  raiseEvent,
  replace,
  settle,
  submissionQueue,
  withWork,
  type Controller,
  type ControllerEnv,
  type Work,
} from './state.js';

/** What besides accesses and resets moves the controller: the engine's results. */
export type NvmeEvent =
  /** Submission entries read from a queue, up to `to` (its new head). */
  | { readonly kind: 'fetched'; readonly epoch: number; readonly sqid: number; readonly to: number; readonly entries: readonly Buffer[] }
  /** A command ended. */
  | {
      readonly kind: 'done';
      readonly epoch: number;
      readonly sqid: number;
      readonly cid: number;
      readonly nsid: number;
      readonly opcode: number;
      readonly result: IoResult;
      readonly dw0: number;
    }
  /** The controller could not reach its queues (`count` commands were being fetched). */
  | { readonly kind: 'fatal'; readonly epoch: number; readonly count: number; readonly reason: unknown }
  /** The namespace is durable: shutdown is complete. */
  | { readonly kind: 'shutdown-done'; readonly epoch: number };

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
  drained({
    ...s,
    epoch: s.epoch + 1,
    sqs: new Map(),
    cqs: new Map(),
    features: defaultFeatures(env),
    aers: [],
    events: [],
    masked: [],
    regs: nvmeRegisters.set(s.regs, { CSTS: s.regs.CSTS & (Csts.RDY | Csts.SHST_MASK), INTMS: 0, INTMC: 0 }),
  });

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
  const r = sq.ring;
  if (db.value >= r.entries) return badDoorbell(s, AsyncEventInfo.INVALID_DOORBELL_VALUE);
  const count = (db.value - sq.fetch + r.entries) % r.entries;
  const queued = { ...sq, ring: { ...r, tail: db.value } };
  if (count === 0) return { ...s, sqs: replace(s.sqs, sq.id, queued) };
  const fetch: Work = { kind: 'fetch', epoch: s.epoch, sqid: sq.id, ring: { ...r, head: sq.fetch, tail: db.value } };
  return withWork({ ...s, busy: s.busy + count, sqs: replace(s.sqs, sq.id, { ...queued, fetch: db.value, inflight: sq.inflight + count }) }, fetch);
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
    case 'shutdown-done': {
      const freed = drained({ ...s, busy: s.busy - 1 });
      return e.epoch === freed.epoch && (freed.regs.CSTS & Csts.SHST_MASK) === Csts.SHST_OCCURRING
        ? csts(csts(freed, Csts.SHST_MASK, false), Csts.SHST_COMPLETE, true)
        : freed;
    }
  }
};

/** The controller's latest epoch and whether it is idle, for what runs outside the fold (stale writes, resets). */
export interface ControllerSnapshot {
  epoch: number;
  busy: number;
  readonly idle$: Subject<boolean>;
}

/** The work items of every state, one by one (no array per state). */
const workOf = (state$: Observable<Controller>): Observable<Work> =>
  new Observable<Work>((out) =>
    state$.subscribe({
      next: (s) => {
        for (const w of s.work) out.next(w);
      },
      error: (err: unknown) => out.error(err),
      complete: () => out.complete(),
    }),
  );

const ofKind =
  <K extends Work['kind']>(kind: K): OperatorFunction<Work, Work & { kind: K }> =>
  (work$) =>
    work$.pipe(filter((w): w is Work & { kind: K } => w.kind === kind));

/**
 * Interrupts raised while the server handles one batch of messages go out once per vector when
 * the batch is done (on the asap scheduler): completions that arrive together, as a driver's
 * queued doorbells make them, cost one eventfd write and one wake-up of the client, as an NVMe
 * controller's interrupt aggregation does. The only mutable state of the engine: the vectors due.
 */
const coalescedInterrupts = (ctx: DeviceContext) => {
  const due = new Set<number>();
  let intx = false;
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    for (const vector of due) ctx.trigger('msix', vector);
    due.clear();
    if (intx) ctx.trigger('intx');
    intx = false;
  };
  return {
    raise(type: 'msix' | 'intx', vector = 0): void {
      if (type === 'msix') due.add(vector);
      else intx = true;
      if (scheduled) return;
      scheduled = true;
      asapScheduler.schedule(flush);
    },
  };
};

/** The engine: the work the fold's states start, each ending in an event for the fold (or an interrupt). */
const engine = (state$: Observable<Controller>, ctx: DeviceContext, env: ControllerEnv, snapshot: ControllerSnapshot): Observable<NvmeEvent> => {
  const work$ = workOf(state$).pipe(share());
  const target = { store: env.store, blockShift: env.namespace.blockShift, memory: ctx.dma, pageSize: PAGE_SIZE, maxTransfer: maxTransfer(env) };
  const irq = coalescedInterrupts(ctx);
  const msixOn$ = ctx.config$.pipe(map((config) => msixState(config)?.enabled === true));
  return merge(
    // Entries in order per controller: a queue's head moves in the order its doorbells came.
    work$.pipe(
      ofKind('fetch'),
      concatMap((w) =>
        consume(ctx.dma, w.ring).pipe(
          map(({ entries }): NvmeEvent => ({ kind: 'fetched', epoch: w.epoch, sqid: w.sqid, to: w.ring.tail, entries })),
          catchError((reason: unknown) => of<NvmeEvent>({ kind: 'fatal', epoch: w.epoch, count: ringCount(w.ring), reason })),
        ),
      ),
    ),
    // I/O commands run side by side and complete in any order, as NVMe allows.
    work$.pipe(
      ofKind('io'),
      mergeMap((w) =>
        ioCommand(w.command, target).pipe(
          map((result): NvmeEvent => ({ kind: 'done', epoch: w.epoch, sqid: w.sqid, cid: w.command.cid, nsid: w.command.nsid, opcode: w.command.opcode, result, dw0: 0 })),
        ),
      ),
    ),
    work$.pipe(
      ofKind('send'),
      mergeMap((w) => {
        const c = w.command;
        const ended = (result: IoResult): NvmeEvent => ({ kind: 'done', epoch: w.epoch, sqid: w.sqid, cid: c.cid, nsid: c.nsid, opcode: c.opcode, result, dw0: w.dw0 });
        return prpSegments(ctx.dma, c.prp1, c.prp2, w.data.length, PAGE_SIZE).pipe(
          concatMap((segments) => toSegments(ctx.dma, segments, w.data)),
          map(() => ended({ status: { sct: 0, sc: GenericStatus.SUCCESS } })),
          catchError((err: unknown) => of(ended(failed(err)))),
        );
      }),
    ),
    // Completions are written in the order their slots were given, then interrupt: MSI-X when the
    // driver enabled it, else INTx unless INTMS masks it. A completion of a reset epoch is dropped.
    work$.pipe(
      filter((w): w is Work & { kind: 'post' | 'level' } => w.kind === 'post' || w.kind === 'level'),
      withLatestFrom(msixOn$),
      concatMap(([w, msixOn]) => {
        if (w.epoch !== snapshot.epoch) return EMPTY;
        if (w.kind === 'level') {
          if (!msixOn) irq.raise('intx');
          return EMPTY;
        }
        return ctx.dma.write(w.address, w.entry).pipe(
          tap(() => {
            if (w.vector === undefined) return;
            if (msixOn) irq.raise('msix', w.vector);
            else if (!w.intxMasked) irq.raise('intx');
          }),
          ignoreElements(),
          catchError((reason: unknown) => of<NvmeEvent>({ kind: 'fatal', epoch: w.epoch, count: 0, reason })),
        );
      }),
    ),
    work$.pipe(
      ofKind('shutdown'),
      concatMap((w) =>
        env.store.flush().pipe(
          map((): NvmeEvent => ({ kind: 'shutdown-done', epoch: w.epoch })),
          catchError((reason: unknown) => of<NvmeEvent>({ kind: 'fatal', epoch: w.epoch, count: 1, reason })),
        ),
      ),
    ),
  );
};

/** BAR 0's handler: the controller's fold and its engine. */
export const nvmeController = (env: ControllerEnv, snapshot: ControllerSnapshot): RegionOperator =>
  accessFold<Controller, NvmeEvent>({
    seed: () => initialController(env),
    access: (s, a) => onAccess(s, a, env),
    // DEVICE_RESET or FLR: everything as made, in a new epoch; work in flight still counts.
    reset: (s) => ({ ...initialController(env, s.epoch + 1), busy: s.busy, health: s.health, errors: s.errors }),
    event: (s, e) => onEvent(s, e, env),
    events: (state$, ctx) => engine(state$, ctx, env, snapshot),
    effects: (s) => {
      snapshot.epoch = s.epoch;
      if (s.busy !== snapshot.busy) {
        snapshot.busy = s.busy;
        snapshot.idle$.next(s.busy === 0);
      }
    },
  });
