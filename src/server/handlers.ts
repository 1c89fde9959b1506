/**
 * Region handlers as operators: plain functions are lifted into one, and each handler is wired
 * to an access subject whose results are matched back to their access by identity. Function
 * handlers are also called directly, so a synchronous answer costs no stream at all.
 */
import {
  EMPTY,
  NEVER,
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
import { Errno } from '../protocol/errno.js';
import { DeviceError } from './errors.js';
import type { AccessResult, DeviceContext, RegionAccess, RegionFunctions, RegionHandler, RegionOperator } from './types.js';

/** What a handler answered: the data itself (nothing for a write), or an Observable still to run. */
export type HandlerAnswer = Buffer | undefined | Observable<Buffer | undefined>;

const callFunctions = (fns: RegionFunctions, a: RegionAccess, ctx: DeviceContext): HandlerAnswer => {
  if (a.kind === 'read') return fns.read ? fns.read(a.offset, a.count, ctx) : Buffer.alloc(a.count);
  if (!fns.write) return undefined;
  const out = fns.write(a.offset, a.data, ctx);
  return isObservable(out) ? out.pipe(last(null, null), map(() => undefined)) : undefined;
};

/** Lifts `{ read, write }` functions into a RegionOperator that serves accesses one at a time. */
export const fromFunctions =
  (fns: RegionFunctions): RegionOperator =>
  (access$, ctx) =>
    access$.pipe(
      concatMap((access) =>
        defer(() => {
          const out = callFunctions(fns, access, ctx);
          return isObservable(out) ? out : of(out);
        }).pipe(
          take(1),
          map((data): AccessResult => ({ access, data })),
          catchError((error: unknown) => of({ access, error })),
        ),
      ),
    );

/**
 * A wired handler: `access` answers one access, with the data itself when the handler answered
 * synchronously (a failure then throws) or an Observable otherwise; `run$` keeps it alive.
 */
export interface HandlerPort {
  access(a: RegionAccess): HandlerAnswer;
  readonly run$: Observable<never>;
}

/** Checks an answer: reads must return exactly `count` bytes. */
const checked = (a: RegionAccess, data: Buffer | undefined): Buffer | undefined => {
  if (a.kind === 'write') return undefined;
  if (!Buffer.isBuffer(data) || data.length !== a.count) {
    throw new DeviceError(Errno.EIO, `region ${a.region} handler returned ${data?.length ?? 'no'} bytes for a ${a.count}-byte read`);
  }
  return data;
};

/** Checks a result of an operator. */
const settle = (r: AccessResult): Buffer | undefined => {
  if (r.error !== undefined) throw r.error;
  return checked(r.access, r.data);
};

/**
 * Function handlers need no access stream: the fold runs one command at a time and waits for
 * each access, so calling the functions in place keeps the accesses in order.
 */
const functionPort = (fns: RegionFunctions, ctx: DeviceContext): HandlerPort => ({
  access: (a) => {
    const out = callFunctions(fns, a, ctx);
    if (!isObservable(out)) return checked(a, out);
    return out.pipe(
      take(1),
      throwIfEmpty(() => new DeviceError(Errno.EIO, `region ${a.region} handler answered nothing`)),
      map((data) => checked(a, data)),
    );
  },
  run$: NEVER,
});

/**
 * Wires a handler to its own access stream. The results stream is shared and never restarted,
 * so a stateful operator keeps its state; an access whose handler stream has ended fails with EIO.
 */
export const wireHandler = (handler: RegionHandler, ctx: DeviceContext): HandlerPort => {
  if (typeof handler !== 'function') return functionPort(handler, ctx);
  const accesses = new Subject<RegionAccess>();
  const results$ = defer(() => handler(accesses.asObservable(), ctx)).pipe(
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
