/**
 * The controller's engine: the work the fold's states start (fetch submission entries, run I/O
 * commands, send admin data, write completion entries and interrupt), each ending in an event for
 * the fold, so that every decision (which completion slot, which phase, RDY, CFS) stays the fold's.
 */
import { EMPTY, Observable, asapScheduler, catchError, concatMap, filter, finalize, ignoreElements, map, merge, mergeMap, of, share, tap, withLatestFrom, type BehaviorSubject, type OperatorFunction, type Subject } from 'rxjs';
import { msixState } from '../../pci/index.js';
import { consume, ringCount, type DeviceContext } from '../../server/index.js';
import { GenericStatus } from './entries.js';
import { prpSegments } from './prp.js';
import { maxTransfer } from './admin.js';
import { failed, ioCommand, toSegments, type IoResult } from './io.js';
import { PAGE_SIZE } from './registers.js';
import type { Controller, ControllerEnv, Work } from './state.js';

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
  | { readonly kind: 'shutdown-done'; readonly epoch: number }
  /** Migration: stop fetching commands (those running finish), run again, take a saved state. */
  | { readonly kind: 'stop' }
  | { readonly kind: 'run' }
  | { readonly kind: 'load'; readonly state: Omit<Controller, 'epoch' | 'busy'> };

/**
 * What runs outside the fold shares with it: the latest state (for stale work, resets and
 * migration), the completion entries being written, whether nothing is in flight, and the
 * migration's commands into the fold.
 */
export interface ControllerSnapshot {
  state: Controller;
  /** Completion entries handed to guest memory and not yet written (by message they take a round trip). */
  posting: number;
  /** True when no command runs and no completion is being written. */
  readonly idle$: BehaviorSubject<boolean>;
  readonly control: Subject<NvmeEvent>;
}

/** Tells whether the controller is idle now (after the fold's state or the engine's writes moved). */
export const updateIdle = (snapshot: ControllerSnapshot): void => {
  const idle = snapshot.state.busy === 0 && snapshot.posting === 0;
  if (idle !== snapshot.idle$.value) snapshot.idle$.next(idle);
};

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
export const engine = (state$: Observable<Controller>, ctx: DeviceContext, env: ControllerEnv, snapshot: ControllerSnapshot): Observable<NvmeEvent> => {
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
      tap(([w]) => w.kind === 'post' && snapshot.posting++),
      concatMap(([w, msixOn]) => {
        if (w.kind === 'level') {
          if (!msixOn && w.epoch === snapshot.state.epoch) irq.raise('intx');
          return EMPTY;
        }
        const written = () => {
          snapshot.posting--;
          updateIdle(snapshot);
        };
        if (w.epoch !== snapshot.state.epoch) return (written(), EMPTY);
        return ctx.dma.write(w.address, w.entry).pipe(
          tap(() => {
            if (w.vector === undefined) return;
            if (msixOn) irq.raise('msix', w.vector);
            else if (!w.intxMasked) irq.raise('intx');
          }),
          ignoreElements(),
          catchError((reason: unknown) => of<NvmeEvent>({ kind: 'fatal', epoch: w.epoch, count: 0, reason })),
          finalize(written),
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

