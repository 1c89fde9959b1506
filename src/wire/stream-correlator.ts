/** The correlator as a composition: fed by a stream of reply frames instead of one call per frame. */
import type { Observable, Subscription } from 'rxjs';
import { DisconnectedError } from '../protocol/errors.js';
import type { Frame, OutgoingMessage } from '../protocol/frame.js';
import { createCorrelator, type Correlator, type CorrelatorOptions } from './correlate.js';

/**
 * A correlator fed by a stream of reply frames (for compositions and marble tests): the end of
 * `replies$` fails every pending request with its cause.
 */
export const correlator = (
  replies$: Observable<Frame>,
  send: (message: OutgoingMessage) => void,
  options: CorrelatorOptions,
): Correlator & { readonly subscription: Subscription } => {
  const core = createCorrelator(send, options);
  const subscription = replies$.subscribe({
    next: core.deliver,
    error: (err: unknown) =>
      core.failAll(err instanceof DisconnectedError ? err : new DisconnectedError('connection failed', { cause: err })),
    complete: () => core.failAll(new DisconnectedError('connection closed by peer')),
  });
  return {
    request: core.request,
    post: core.post,
    issue: core.issue,
    failAll: core.failAll,
    subscription,
    get stats() {
      return core.stats;
    },
  };
};
