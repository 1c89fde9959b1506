/**
 * Completing commands, as steps of the controller's state: a completion takes the next slot of its
 * queue (with the pass's phase tag and an interrupt to raise), or waits while the queue is full;
 * a failed command leaves an error log entry; asynchronous events go to outstanding requests.
 */
import { entryAddress, phaseTag, ringCount, ringFull, ringTail } from '../../server/index.js';
import { encodeCompletion, type Status, type Submission } from './entries.js';
import { asyncEventDw0, type AsyncEvent, type ErrorEntry } from './logs.js';
import { replace, withWork, type CompletionQueue, type Controller, type PendingCompletion, type SubmissionQueue, type Work } from './state.js';

const INTX_MASK_BIT = 1;

/** Whether INTx (and MSI) vector 0 is masked by INTMS. */
export const intxMasked = (s: Controller): boolean => (s.regs.INTMS & INTX_MASK_BIT) !== 0;

/** Writes a completion into its queue's next slot (the queue has room). */
const post = (s: Controller, cq: CompletionQueue, sq: SubmissionQueue | undefined, c: PendingCompletion): Controller => {
  const r = cq.ring;
  const entry = encodeCompletion({ dw0: c.dw0, sqHead: sq?.ring.head ?? 0, sqId: c.sqid, cid: c.cid, phase: phaseTag(r), status: c.status });
  const work: Work = {
    kind: 'post',
    epoch: s.epoch,
    address: entryAddress(r, r.tail),
    entry,
    ...(cq.interrupts ? { vector: cq.vector } : {}),
    intxMasked: intxMasked(s),
  };
  const next = { ...cq, ring: ringTail(r, (r.tail + 1) % r.entries) };
  return withWork({ ...s, cqs: replace(s.cqs, cq.id, next) }, work);
};

const isError = (st: Status): boolean => st.sct !== 0 || st.sc !== 0;

/** The error log keeps this many entries. */
const ERROR_LOG_KEPT = 64;

/**
 * Completes command `cid` of submission queue `sqid`: an entry in its completion queue (or a wait
 * for room), and an error log entry when it failed. A queue deleted meanwhile takes no completion.
 */
export const complete = (s: Controller, sqid: number, cid: number, status: Status, dw0 = 0, where: { nsid?: number; lba?: number } = {}): Controller => {
  const sq = s.sqs.get(sqid);
  if (!sq) return s;
  const cq = s.cqs.get(sq.cqid);
  if (!cq) return s;
  let next = s;
  if (isError(status)) {
    const count = s.health.errors + 1;
    const entry: ErrorEntry = { count, sqid, cid, status: (status.sc | (status.sct << 8) | (status.dnr ? 1 << 14 : 0)) & 0x7fff, nsid: where.nsid ?? 0, lba: where.lba ?? 0 };
    next = { ...s, health: { ...s.health, errors: count }, errors: [...s.errors.slice(-(ERROR_LOG_KEPT - 1)), entry] };
  }
  const pending: PendingCompletion = { sqid, cid, status, dw0 };
  if (cq.waiting.length > 0 || ringFull(cq.ring)) return { ...next, cqs: replace(next.cqs, cq.id, { ...cq, waiting: [...cq.waiting, pending] }) };
  return post(next, cq, sq, pending);
};

/** The host moved a completion queue's head: completions waiting for room go in. */
export const drain = (s: Controller, cqid: number): Controller => {
  let next = s;
  for (;;) {
    const cq = next.cqs.get(cqid);
    if (!cq || cq.waiting.length === 0 || ringFull(cq.ring)) return next;
    const [first, ...rest] = cq.waiting;
    next = post({ ...next, cqs: replace(next.cqs, cqid, { ...cq, waiting: rest }) }, { ...cq, waiting: rest }, next.sqs.get(first!.sqid), first!);
  }
};

/** Whether any interrupting completion queue holds entries the host has not consumed. */
export const entriesPending = (s: Controller): boolean => [...s.cqs.values()].some((cq) => cq.interrupts && ringCount(cq.ring) > 0);

/** Reports waiting events to outstanding requests, while both are there and the event's log is not masked. */
export const reportEvents = (s: Controller): Controller => {
  let next = s;
  for (;;) {
    const at = next.events.findIndex((e) => !next.masked.includes(e.log));
    if (at < 0 || next.aers.length === 0) return next;
    const event = next.events[at]!;
    const [cid, ...aers] = next.aers;
    next = complete(
      { ...next, aers, events: next.events.filter((_, i) => i !== at), masked: [...next.masked, event.log] },
      0,
      cid!,
      { sct: 0, sc: 0 },
      asyncEventDw0(event),
    );
  }
};

/** Queues an event (once: an event already waiting is not queued again). */
export const raiseEvent = (s: Controller, event: AsyncEvent): Controller =>
  s.events.some((e) => e.type === event.type && e.info === event.info) ? reportEvents(s) : reportEvents({ ...s, events: [...s.events, event] });

/** Completes an admin command. */
export const answer = (s: Controller, cmd: Submission, status: Status, dw0 = 0): Controller => complete(s, 0, cmd.cid, status, dw0);
