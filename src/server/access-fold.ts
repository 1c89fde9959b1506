/**
 * The fold a register-level device is: one state, stepped by the region's accesses, by the device's
 * own events (input lines, completions of work it started, migrated states) and by resets, with
 * its effects (interrupts, outputs) run once per state. The samples each wrote this by hand; a
 * device now declares its steps and gets a RegionOperator.
 */
import { EMPTY, Observable, Subject, defer, filter, ignoreElements, map, merge, scan, tap } from 'rxjs';
import type { AccessResult, DeviceContext, RegionAccess, RegionOperator, ResetReason } from './types.js';

/** What one step of the fold produced: the state, and the answer when the step was an access. */
export interface Folded<S> {
  readonly state: S;
  readonly result?: AccessResult;
}

/** The steps of a device's fold. */
export interface AccessFoldSpec<S, E> {
  /** The state when the device starts. */
  seed(ctx: DeviceContext): S;
  /** An access: the state after it and its answer (data for a read). */
  access(state: S, access: RegionAccess): Folded<S>;
  /** A reset of the device (DEVICE_RESET or FLR; a client's disconnect is not one): the state after it. */
  reset?(state: S, reason: ResetReason): S;
  /** One of the device's own events. */
  event?(state: S, event: E): S;
  /**
   * The device's own events, fed back into the fold: sources from outside (input lines) and work
   * started by a state (a copy the doorbell started, ending in a completion event). `state$` is
   * every state the fold reaches. A stream that emits nothing can carry effects that need other
   * streams (an interrupt choosing MSI-X or INTx by the latest config space).
   */
  events?(state$: Observable<S>, ctx: DeviceContext): Observable<E>;
  /** Effects of a new state, run once per step in order (raise an interrupt, publish outputs). */
  effects?(state: S, ctx: DeviceContext): void;
}

// An access is its own step (its kind is 'read' or 'write'): nothing is wrapped per access.
type Step<E> = RegionAccess | { readonly kind: 'reset'; readonly reason: ResetReason } | { readonly kind: 'event'; readonly event: E };

/** A RegionOperator of a device declared by its steps (see AccessFoldSpec); subscribed once, for the device's life. */
export const accessFold =
  <S, E = never>(spec: AccessFoldSpec<S, E>): RegionOperator =>
  (access$, ctx) =>
    defer(() => {
      const feedback = new Subject<E>();
      // Every state, for the device's events; fed only while something listens (a register access
      // should not pay for a stream nobody reads).
      const states = new Subject<S>();
      const next = (f: Folded<S>, step: Step<E>): Folded<S> => {
        switch (step.kind) {
          case 'read':
          case 'write':
            return spec.access(f.state, step);
          case 'reset':
            return { state: spec.reset ? spec.reset(f.state, step.reason) : f.state };
          case 'event':
            return { state: spec.event ? spec.event(f.state, step.event) : f.state };
        }
      };
      const results$ = merge(
        access$ as Observable<Step<E>>,
        ctx.reset$.pipe(
          filter((reason) => reason !== 'disconnect'),
          map((reason): Step<E> => ({ kind: 'reset', reason })),
        ),
        feedback.pipe(map((event): Step<E> => ({ kind: 'event', event }))),
      ).pipe(
        scan(next, { state: spec.seed(ctx) }),
        // One step out: its effects, its answer (to the access's port), then the state to the
        // device's events (work the state starts comes after the answer, as the samples expect).
        (folded$) =>
          new Observable<AccessResult>((out) =>
            folded$.subscribe({
              next: (f) => {
                spec.effects?.(f.state, ctx);
                if (f.result !== undefined) out.next(f.result);
                if (states.observed) states.next(f.state);
              },
              error: (err: unknown) => out.error(err),
              complete: () => out.complete(),
            }),
          ),
      );
      const events$ = spec.events
        ? spec
            .events(states.asObservable(), ctx)
            .pipe(
              tap((e) => feedback.next(e)),
              ignoreElements(),
            )
        : EMPTY;
      // The device's events first, so that they see the first state; an access answered in its
      // push still reaches its port in that push.
      return merge(events$, results$);
    });
