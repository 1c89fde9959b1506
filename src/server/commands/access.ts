/** REGION_READ, REGION_WRITE and REGION_WRITE_MULTI. */
// The global Buffer of an ES module is a getter on globalThis, paid at every use: these run per access.
import { Buffer } from 'node:buffer';
import { Observable, catchError, concatMap, isObservable, last, map, of } from 'rxjs';
import { decodeRegionReadRequest, decodeRegionWriteWith, encodeRegionAccessFast } from '../../protocol/region-access.js';
import { decodeWriteMultiRequest, encodeWriteMultiReply, type WriteMultiEntry } from '../../protocol/write-multi.js';
import { isNoReply } from '../../protocol/header.js';
import { errnoOf } from '../errors.js';
import type { AccessAnswer } from '../msix-region.js';
import { accessRegion } from '../regions.js';
import type { Runtime } from '../runtime.js';
import { stateOnly, type DeviceState } from '../state.js';
import type { WriteAccess } from '../types.js';
import type { CommandHandler, Outcome } from './types.js';

const EMPTY_DATA = Buffer.alloc(0);

/** Applies `f` to an answer, in place when it is plain (the synchronous path allocates no stream). */
const then = <T, R>(answer: T | Observable<T>, f: (value: T) => R): R | Observable<R> =>
  isObservable(answer) ? answer.pipe(map(f)) : f(answer);

/** REGION_READ: count at most our max_data_xfer_size (E2BIG), inside the region (EINVAL). */
export const regionRead: CommandHandler = (rt, state, frame) => {
  const req = decodeRegionReadRequest(frame.payload, rt.options.limits);
  const access = { kind: 'read', region: req.region, offset: req.offset, count: req.count } as const;
  // The reply echoes the decoded (so checked) request: the fast encoder, with no zero-fill.
  return then(accessRegion(rt, state, access), (o): Outcome => {
    const data = o.data ?? EMPTY_DATA;
    return { state: o.state, payload: encodeRegionAccessFast(req.offset, req.region, data.length, data) };
  });
};

/** A write access as the handlers see it; the request decodes straight into it. */
const writeAccess = (region: number, offset: number, data: Buffer): WriteAccess => ({ kind: 'write', region, offset, data });

/** REGION_WRITE: the data length must equal count (EINVAL); the reply echoes offset, region and count. */
export const regionWrite: CommandHandler = (rt, state, frame) => {
  const decoded = decodeRegionWriteWith(frame.payload, rt.options.limits, writeAccess);
  // The data is a view of the message. A message in a pooled buffer (a large one, read directly) is
  // copied out first, so its buffer can take the next one; any other message's bytes are never
  // reused, and the handler may keep the view.
  const access = frame.release ? writeAccess(decoded.region, decoded.offset, Buffer.from(decoded.data)) : decoded;
  frame.release?.();
  // Not through then(): a closure per write, for the rare handler that answers with an Observable.
  const answer = accessRegion(rt, state, access);
  // A posted write gets no reply: nothing to encode, and a state it did not change has its outcome already.
  if (isNoReply(frame.header)) return isObservable(answer) ? answer.pipe(map((o): Outcome => stateOnly(o.state))) : stateOnly(answer.state);
  const payload = encodeRegionAccessFast(access.offset, access.region, access.data.length);
  return isObservable(answer) ? answer.pipe(map((o): Outcome => ({ state: o.state, payload }))) : { state: answer.state, payload };
};

/** Progress through the entries of a REGION_WRITE_MULTI. */
interface Progress {
  readonly state: DeviceState;
  readonly done: number;
  readonly errno?: number;
}

// A posted REGION_WRITE_MULTI (the client's coalesced posted writes) gets no reply: nothing to encode.
const outcomeOf =
  (reply: boolean) =>
  (p: Progress): Outcome =>
    p.errno !== undefined ? { state: p.state, errno: p.errno } : { state: p.state, payload: reply ? encodeWriteMultiReply({ wr_cnt: p.done }) : undefined };
const answered = outcomeOf(true);
const posted = outcomeOf(false);

/**
 * Runs the entries from `p.done` on: synchronous writes in a plain loop; at the first write
 * that answers with an Observable, the rest wait for it and continue from its outcome.
 */
const writeFrom = (rt: Runtime, entries: readonly WriteMultiEntry[], p: Progress, copy: boolean): Progress | Observable<Progress> => {
  let at = p;
  while (at.done < entries.length) {
    const e = entries[at.done];
    const access = { kind: 'write', region: e.region, offset: e.offset, data: copy ? Buffer.from(e.data) : e.data } as const;
    let answer: AccessAnswer;
    try {
      answer = accessRegion(rt, at.state, access);
    } catch (err) {
      return { ...at, errno: errnoOf(err) };
    }
    if (isObservable(answer)) {
      const before = at;
      return answer.pipe(
        last(),
        map((o): Progress => ({ state: o.state, done: before.done + 1 })),
        catchError((err: unknown) => of({ ...before, errno: errnoOf(err) })),
        concatMap((next) => {
          const rest = next.errno === undefined ? writeFrom(rt, entries, next, copy) : next;
          return isObservable(rest) ? rest : of(rest);
        }),
      );
    }
    at = { state: answer.state, done: at.done + 1 };
  }
  return at;
};

/**
 * REGION_WRITE_MULTI: the writes in order, as if sent one by one. A failing write stops the
 * rest and fails the command with its errno (the writes before it stay done).
 */
export const writeMulti: CommandHandler = (rt, state, frame) => {
  const req = decodeWriteMultiRequest(frame.payload);
  // Entries' data are views of the message, copied only when it sits in a pooled buffer (see regionWrite).
  return then(writeFrom(rt, req.entries, { state, done: 0 }, frame.release !== undefined), isNoReply(frame.header) ? posted : answered);
};
