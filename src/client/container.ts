import {
  BehaviorSubject,
  EMPTY,
  ReplaySubject,
  Subscription,
  catchError,
  concatMap,
  connectable,
  defer,
  filter,
  defaultIfEmpty,
  from,
  ignoreElements,
  last,
  mergeMap,
  map,
  of,
  scan,
  take,
  type Observable,
} from 'rxjs';
import { dmaTransactions, type DmaBatch, type DmaLimits, type DmaOp } from '../operators/dma-transactions.js';
import { Command, DmaUnmapFlags } from '../protocol/constants.js';
import {
  decodeDmaMapReply,
  decodeDmaUnmapReply,
  encodeDmaMapRequest,
  encodeDmaUnmapRequest,
} from '../protocol/dma.js';
import type { MemoryChange } from '../streams/memory.js';
import { call$, type Wire } from './call.js';
import { applyBatch, emptyMappingTable, mapFlags, type MappingTable } from './mapping-table.js';
import type { DmaMode } from './options.js';

/** The outcome of one memory transaction: its operations and every error among them. */
export interface DmaCommit {
  readonly seq: number;
  readonly ops: readonly DmaOp[];
  /** LimitErrors of refused adds and the failures of sent requests, in operation order. */
  readonly errors: readonly Error[];
}

/** QEMU's vfio-iommu-user container: guest memory changes in, DMA_MAP/DMA_UNMAP out. */
export interface Container {
  /** The mappings in force (a fold over the committed batches); always holds a value. */
  readonly table$: Observable<MappingTable>;
  /** Every transaction's outcome, in order, once its last reply has come. */
  readonly commits$: Observable<DmaCommit>;
  /** Waits for the latest transaction so far; errors with its first error if any failed. */
  settled$(): Observable<DmaCommit>;
  /** Stops following memory, then DMA_UNMAP with flag ALL when anything was mapped. */
  close$(): Observable<never>;
  /** Stops following memory, sending nothing (local teardown). Idempotent. */
  stop(): void;
  /** Sends every mapping in force again, on `wire` (a server reached again after a reconnect). */
  replay$(wire: Wire): Observable<never>;
}

/** Settings of a container. */
export interface ContainerOptions {
  readonly limits: DmaLimits;
  /** 'fd' sends each section's memfd with its DMA_MAP; 'message' sends none. */
  readonly mode: DmaMode;
}

const op$ = (wire: Wire, op: DmaOp, mode: DmaMode): Observable<unknown> => {
  const s = op.section;
  if (op.kind === 'rejected') throw op.error;
  if (op.kind === 'unmap') {
    const request = { flags: 0, address: s.iova, size: s.size, argsz: 24 };
    return call$(wire, Command.DMA_UNMAP, encodeDmaUnmapRequest(request), (p) => decodeDmaUnmapReply(p, request));
  }
  const withFd = mode === 'fd';
  const payload = encodeDmaMapRequest({ flags: mapFlags(s.readonly), offset: withFd ? s.fdOffset : 0, address: s.iova, size: s.size });
  return call$(wire, Command.DMA_MAP, payload, decodeDmaMapReply, withFd ? { fds: [s.fd] } : {});
};

/**
 * Requests of one transaction in flight at once, at most. The ids are 16 bits: a transaction of
 * 100,000 sections cannot have them all out, and the server runs them in order anyway.
 */
export const MAX_DMA_IN_FLIGHT = 4096;

/** Sends the operations of a batch in order, up to MAX_DMA_IN_FLIGHT at a time, and waits for all replies. */
const execute$ = (wire: Wire, batch: DmaBatch, mode: DmaMode): Observable<DmaCommit> => {
  if (batch.ops.length === 0) return of({ seq: batch.seq, ops: batch.ops, errors: [] });
  const errors: (Error | undefined)[] = new Array(batch.ops.length);
  return from(batch.ops.keys()).pipe(
    mergeMap(
      (i) =>
        defer(() => op$(wire, batch.ops[i]!, mode)).pipe(
          ignoreElements(),
          catchError((err: unknown) => ((errors[i] = err as Error), EMPTY)),
        ),
      MAX_DMA_IN_FLIGHT,
    ),
    defaultIfEmpty(undefined),
    last(),
    map(() => ({ seq: batch.seq, ops: batch.ops, errors: errors.filter((e): e is Error => e !== undefined) })),
  );
};

/** Starts a batch now (its requests go out at once) and keeps its commit for whoever comes later. */
const started = (o: Observable<DmaCommit>): Observable<DmaCommit> => {
  const result = new ReplaySubject<DmaCommit>(1);
  o.subscribe(result);
  return result;
};

/**
 * Turns the memory-listener change stream into DMA_MAP/DMA_UNMAP requests: a transaction's
 * requests are sent together at its commit, the commit waits for its last reply (the server runs
 * them in order) and reports every error; commits come out in transaction order.
 */
export const container = (wire: Wire, changes$: Observable<MemoryChange>, options: ContainerOptions): Container => {
  const table$ = new BehaviorSubject<MappingTable>(emptyMappingTable);
  const latest$ = new BehaviorSubject(0);
  const commits$ = new ReplaySubject<DmaCommit>(1);
  const batches$ = connectable(changes$.pipe(dmaTransactions(options.limits)));
  const subscription = new Subscription();
  subscription.add(batches$.pipe(scan(applyBatch, emptyMappingTable)).subscribe((t) => table$.next(t)));
  subscription.add(batches$.subscribe((b) => latest$.next(b.seq)));
  subscription.add(
    batches$.pipe(map((b) => started(execute$(wire, b, options.mode))), concatMap((c) => c)).subscribe((c) => commits$.next(c)),
  );
  subscription.add(batches$.connect());

  const settled$ = () =>
    defer(() => {
      const seq = latest$.value;
      return seq === 0 ? of({ seq: 0, ops: [], errors: [] }) : commits$.pipe(filter((c) => c.seq >= seq), take(1));
    }).pipe(
      map((c) => {
        if (c.errors.length > 0) throw c.errors[0];
        return c;
      }),
    );

  const close$ = () =>
    defer(() => {
      subscription.unsubscribe();
      if (table$.value.size === 0) return EMPTY;
      const request = { flags: DmaUnmapFlags.ALL, address: 0, size: 0, argsz: 24 };
      table$.next(emptyMappingTable);
      return call$(wire, Command.DMA_UNMAP, encodeDmaUnmapRequest(request), (p) => decodeDmaUnmapReply(p, request));
    }).pipe(ignoreElements());

  const replay$ = (to: Wire) =>
    defer(() => {
      const withFd = options.mode === 'fd';
      return from(table$.value.valuesArray()).pipe(
        mergeMap((m) => {
          const payload = encodeDmaMapRequest({ flags: m.flags, offset: withFd ? m.fdOffset : 0, address: m.iova, size: m.size });
          return call$(to, Command.DMA_MAP, payload, decodeDmaMapReply, withFd ? { fds: [m.fd] } : {});
        }, MAX_DMA_IN_FLIGHT),
        ignoreElements(),
      );
    });

  return { table$, commits$, settled$, close$, stop: () => subscription.unsubscribe(), replay$ };
};
