/**
 * Region handlers as operators: plain functions are lifted into one, and each operator handler
 * is wired once to an access subject whose results are matched back to their access by
 * identity. Function handlers are called directly. Either way a synchronous answer costs no
 * stream at all.
 */
// The global Buffer of an ES module is a getter on globalThis, paid at every use: these run per access.
import { Buffer } from 'node:buffer';
import {
  NEVER,
  Observable,
  Subject,
  concatMap,
  defer,
  ignoreElements,
  isObservable,
  last,
  map,
  of,
  share,
  take,
  tap,
  throwIfEmpty,
  catchError,
  type Subscriber,
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

/** An access handed to an operator and not answered yet: its result, or who waits for it. */
interface Slot {
  result?: AccessResult;
  failed?: Error;
  subscriber?: Subscriber<Buffer | undefined>;
}

const stoppedError = (a: RegionAccess): DeviceError => new DeviceError(Errno.EIO, `region ${a.region} handler has stopped`);

/** Hands a result to the subscriber that waits for it. */
const answer = (subscriber: Subscriber<Buffer | undefined>, r: AccessResult): void => {
  let data: Buffer | undefined;
  try {
    data = settle(r);
  } catch (err) {
    subscriber.error(err);
    return;
  }
  subscriber.next(data);
  subscriber.complete();
};

/**
 * Wires an operator handler to its own access stream, subscribed once for the device's lifetime
 * (run$, or the first access if nothing ran it): a stateful operator keeps its state, and an
 * access costs one `next` into it. Results are matched to their access by identity; one that
 * comes back while the access is being pushed (a synchronous operator, as a `scan` is) is
 * answered in place, with no stream built. Only an access the operator answers later gets an
 * Observable. Once the operator's stream ends, pending and later accesses fail with EIO.
 */
export const wireHandler = (handler: RegionHandler, ctx: DeviceContext): HandlerPort => {
  if (typeof handler !== 'function') return functionPort(handler, ctx);
  const accesses = new Subject<RegionAccess>();
  // The access being pushed and the result it got during the push: compared by identity, with no
  // map (an object used as a Map key gets an identity hash, which cost 11% of a posted write).
  let pushing: RegionAccess | undefined;
  let pushed: AccessResult | undefined;
  // Accesses pushed and not answered in their push, waiting for a later result.
  const waiting = new Map<RegionAccess, Slot>();
  let stopped = false;

  const deliver = (r: AccessResult): void => {
    if (r.access === pushing) {
      pushed = r;
      pushing = undefined; // a second result for it is ignored
      return;
    }
    const slot = waiting.get(r.access);
    if (!slot) return; // not an access of ours, or one already answered: ignored
    waiting.delete(r.access);
    if (slot.subscriber) answer(slot.subscriber, r);
    else slot.result = r;
  };
  const stop = (): void => {
    stopped = true;
    pushing = undefined;
    for (const [a, slot] of waiting) {
      if (slot.subscriber) slot.subscriber.error(stoppedError(a));
      else slot.failed = stoppedError(a);
    }
    waiting.clear();
  };
  const results$ = defer(() => handler(accesses.asObservable(), ctx)).pipe(
    tap({ next: deliver, error: stop, complete: stop }),
    share({ resetOnError: false, resetOnComplete: false, resetOnRefCountZero: false }),
  );
  // Connects the operator when an access comes before anything ran it (a failure is run$'s to report).
  let connected = false;
  const connect = (): void => {
    if (connected) return;
    connected = true;
    results$.subscribe({ error: () => undefined });
  };
  const run$ = defer(() => {
    connected = true;
    return results$.pipe(ignoreElements());
  });

  const access = (a: RegionAccess): HandlerAnswer => {
    if (stopped) throw stoppedError(a);
    connect();
    pushing = a;
    pushed = undefined;
    try {
      accesses.next(a);
    } finally {
      pushing = undefined;
    }
    const result = pushed as AccessResult | undefined;
    pushed = undefined;
    if (result) return settle(result);
    if (stopped) throw stoppedError(a);
    const slot: Slot = {};
    waiting.set(a, slot);
    return new Observable<Buffer | undefined>((subscriber) => {
      if (slot.result) return answer(subscriber, slot.result);
      if (slot.failed) return subscriber.error(slot.failed);
      slot.subscriber = subscriber;
      return () => {
        slot.subscriber = undefined;
        waiting.delete(a);
      };
    });
  };
  return { access, run$ };
};
