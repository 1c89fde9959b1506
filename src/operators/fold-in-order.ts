import { Observable, isObservable, type OperatorFunction, type Subscription } from 'rxjs';

/** One step of a fold: the next state itself when it is known at once, else an Observable of it. */
export type FoldStep<E, S> = (state: S, event: E) => S | Observable<S>;

/**
 * Folds events into a state strictly one at a time, in arrival order, and emits every state it
 * reaches: `mergeScan(step, seed, 1)` where a step may also return the next state itself, which
 * then costs no inner subscription (a device answers most commands synchronously).
 *
 * An Observable step runs to completion before the next event is taken; each value it emits
 * becomes the state. Events that arrive meanwhile, including ones caused synchronously by an
 * emitted state, wait their turn. A step that throws, or an Observable step that errors, errors
 * the fold.
 *
 * ```
 * events: --a---b---c-----|
 * step:     sync  (b: async --x|)
 * states: --A-------x-C----|
 * ```
 */
// The absence of a first event for drain (any event, undefined included, is a value of E).
const NONE: unique symbol = Symbol('none');

export const foldInOrder =
  <E, S>(step: FoldStep<E, S>, seed: S): OperatorFunction<E, S> =>
  (source) =>
    new Observable<S>((subscriber) => {
      let state = seed;
      const queue: E[] = [];
      let head = 0;
      let draining = false;
      let inner: Subscription | undefined;
      let waiting = false; // an Observable step is running
      let sourceDone = false;

      const take = (): E => {
        const event = queue[head++]!;
        if (head === queue.length) {
          queue.length = 0;
          head = 0;
        }
        return event;
      };

      const run = (event: E): void => {
        const out = step(state, event);
        if (!isObservable(out)) {
          state = out;
          subscriber.next(out);
          return;
        }
        waiting = true;
        const sub = out.subscribe({
          next: (s) => {
            state = s;
            subscriber.next(s);
          },
          error: (err: unknown) => subscriber.error(err),
          complete: () => {
            waiting = false;
            inner = undefined;
            drain();
          },
        });
        if (waiting) inner = sub;
      };

      // Runs `first` (unless NONE), then every event that waits, while no Observable step runs.
      function drain(first: E | typeof NONE = NONE): void {
        if (draining) return;
        draining = true;
        try {
          if (first !== NONE && !subscriber.closed) run(first);
          while (!waiting && head < queue.length && !subscriber.closed) run(take());
        } catch (err) {
          subscriber.error(err);
        } finally {
          draining = false;
        }
        if (!waiting && head === queue.length && sourceDone) subscriber.complete();
      }

      const sourceSub = source.subscribe({
        next: (event) => {
          // With nothing waiting or running, the event runs at once rather than through the queue.
          if (draining || waiting || head < queue.length) {
            queue.push(event);
            drain();
          } else drain(event);
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => {
          sourceDone = true;
          drain();
        },
      });
      return () => {
        sourceSub.unsubscribe();
        inner?.unsubscribe();
      };
    });
