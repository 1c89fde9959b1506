import { Subscription, asyncScheduler, type SchedulerAction, type SchedulerLike } from 'rxjs';

/** What a lane keeps of a delayed work item, whatever its state type. */
interface Waiting {
  readonly due: number;
  /** No longer waiting in its lane: cancelled, or come due. */
  done: boolean;
  fire(): void;
}

/** One delayed work item. A class: a literal with a closure would cost a function per request. */
class Deadline<T> implements Waiting {
  done = false;
  cancelled = false;
  hop: Subscription | undefined;
  constructor(
    readonly due: number,
    private readonly inner: SchedulerLike,
    private readonly work: (this: SchedulerAction<T>, state?: T) => void,
    private readonly state: T | undefined,
  ) {}

  /** Hands the work to the underlying scheduler, to run at once. */
  fire(): void {
    if (!this.cancelled) this.hop = this.inner.schedule(this.work, 0, this.state);
  }
}

/** A FIFO of the deadlines of one delay: their due times only grow, so its head is its earliest. */
interface Lane {
  items: Waiting[];
  head: number;
}

/** A scheduler for reply timeouts, and the way to stop its timer for good. */
export interface DeadlineScheduler extends SchedulerLike {
  /** Cancels the armed timer; later work goes straight to the underlying scheduler. */
  dispose(): void;
}

const trim = (lane: Lane): void => {
  while (lane.head < lane.items.length && lane.items[lane.head]!.done) lane.head++;
  if (lane.head === lane.items.length) {
    lane.items = [];
    lane.head = 0;
  } else if (lane.head > 64 && lane.head * 2 > lane.items.length) {
    lane.items = lane.items.slice(lane.head);
    lane.head = 0;
  }
};

/**
 * Wraps a scheduler for delayed work that is nearly always cancelled before it is due (one reply
 * timeout per request): delays are kept in one FIFO per delay value and only the earliest due
 * time holds a timer of the underlying scheduler, so a request costs an array push and a flag
 * instead of an OS timer set and cleared. Work that comes due is handed to the underlying
 * scheduler (delay 0), so it runs as a SchedulerAction of that scheduler. While the armed timer
 * runs, the underlying scheduler may keep the process alive: dispose when the connection ends.
 */
export const deadlineScheduler = (inner: SchedulerLike = asyncScheduler): DeadlineScheduler => {
  const lanes = new Map<number, Lane>();
  let armed: Subscription | undefined;
  let armedAt = Infinity;
  let disposed = false;

  const arm = (due: number) => {
    armed?.unsubscribe();
    armedAt = due;
    armed = inner.schedule(expire, Math.max(0, due - inner.now()));
  };

  function expire() {
    armed = undefined;
    armedAt = Infinity;
    const now = inner.now();
    const due: Waiting[] = [];
    let next = Infinity;
    for (const lane of lanes.values()) {
      for (let d = lane.items[lane.head]; d && (d.done || d.due <= now); d = lane.items[++lane.head]) {
        if (d.done) continue;
        d.done = true;
        due.push(d);
      }
      trim(lane);
      const head = lane.items[lane.head];
      if (head) next = Math.min(next, head.due);
    }
    if (next !== Infinity && !disposed) arm(next);
    // Handed over only now: the work may cancel or schedule deadlines, which edits the lanes.
    for (const d of due.sort((a, b) => a.due - b.due)) d.fire();
  }

  const schedule = <T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription => {
    if (disposed || !(delay > 0) || !Number.isFinite(delay)) return inner.schedule(work, delay, state);
    let lane = lanes.get(delay);
    if (!lane) lanes.set(delay, (lane = { items: [], head: 0 }));
    const deadline: Deadline<T> = new Deadline(inner.now() + delay, inner, work, state);
    lane.items.push(deadline);
    if (deadline.due < armedAt) arm(deadline.due);
    const owner = lane;
    return new Subscription(() => {
      deadline.cancelled = true;
      deadline.hop?.unsubscribe();
      if (deadline.done) return;
      deadline.done = true;
      trim(owner);
    });
  };

  return {
    now: () => inner.now(),
    schedule,
    dispose: () => {
      disposed = true;
      armed?.unsubscribe();
      armed = undefined;
      armedAt = Infinity;
    },
  };
};
