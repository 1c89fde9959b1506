/**
 * Region handlers as operators: plain functions are lifted into one, and each handler is wired
 * to an access subject whose results are matched back to their access by identity.
 */
import {
  EMPTY,
  Observable,
  Subject,
  concatMap,
  defer,
  filter,
  ignoreElements,
  isObservable,
  last,
  map,
  merge,
  of,
  share,
  take,
  throwIfEmpty,
  catchError,
} from 'rxjs';
import { Errno } from '../../protocol/errno.js';
import { DeviceError } from './errors.js';
import type { AccessResult, DeviceContext, RegionAccess, RegionFunctions, RegionHandler, RegionOperator } from './types.js';

const asObservable = <T>(value: T | Observable<T>): Observable<T> => (isObservable(value) ? value : of(value));

const callFunctions = (fns: RegionFunctions, a: RegionAccess, ctx: DeviceContext): Observable<Buffer | undefined> => {
  if (a.kind === 'read') return fns.read ? asObservable(fns.read(a.offset, a.count, ctx)) : of(Buffer.alloc(a.count));
  if (!fns.write) return of(undefined);
  return asObservable(fns.write(a.offset, a.data, ctx)).pipe(last(null, null), map(() => undefined));
};

/** Lifts `{ read, write }` functions into a RegionOperator that serves accesses one at a time. */
export const fromFunctions =
  (fns: RegionFunctions): RegionOperator =>
  (access$, ctx) =>
    access$.pipe(
      concatMap((access) =>
        defer(() => callFunctions(fns, access, ctx)).pipe(
          take(1),
          map((data): AccessResult => ({ access, data })),
          catchError((error: unknown) => of({ access, error })),
        ),
      ),
    );

/** A wired handler: `access` answers one access; `run$` keeps the handler alive while subscribed. */
export interface HandlerPort {
  access(a: RegionAccess): Observable<Buffer | undefined>;
  readonly run$: Observable<never>;
}

/** Checks a result: reads must return exactly `count` bytes. */
const settle = (r: AccessResult): Buffer | undefined => {
  if (r.error !== undefined) throw r.error;
  if (r.access.kind === 'write') return undefined;
  if (!Buffer.isBuffer(r.data) || r.data.length !== r.access.count) {
    throw new DeviceError(Errno.EIO, `region ${r.access.region} handler returned ${r.data?.length ?? 'no'} bytes for a ${r.access.count}-byte read`);
  }
  return r.data;
};

/**
 * Wires a handler to its own access stream. The results stream is shared and never restarted,
 * so a stateful operator keeps its state; an access whose handler stream has ended fails with EIO.
 */
export const wireHandler = (handler: RegionHandler, ctx: DeviceContext): HandlerPort => {
  const operator = typeof handler === 'function' ? handler : fromFunctions(handler);
  const accesses = new Subject<RegionAccess>();
  const results$ = defer(() => operator(accesses.asObservable(), ctx)).pipe(
    share({ resetOnError: false, resetOnComplete: false, resetOnRefCountZero: false }),
  );
  const access = (a: RegionAccess): Observable<Buffer | undefined> =>
    // The result filter is subscribed before the access is pushed: a handler may answer synchronously.
    merge(
      results$.pipe(
        filter((r) => r.access === a),
        take(1),
        throwIfEmpty(() => new DeviceError(Errno.EIO, `region ${a.region} handler has stopped`)),
      ),
      defer(() => {
        accesses.next(a);
        return EMPTY;
      }),
    ).pipe(map(settle));
  return { access, run$: results$.pipe(ignoreElements()) };
};
