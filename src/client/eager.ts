import { Observable, type ObservableNotification, type Subscriber } from 'rxjs';
import { eachValueFrom } from 'rxjs-for-await';

const deliver = <T>(n: ObservableNotification<T>, to: Subscriber<T>): void => {
  if (n.kind === 'N') to.next(n.value);
  else if (n.kind === 'E') to.error(n.error);
  else to.complete();
};

/**
 * Like eachValueFrom, but subscribes to `source$` now rather than at the first `next()`: an
 * async generator's body only starts when first pulled, so values of a hot stream (interrupts)
 * emitted between creating the iterator and the first `for await` step would be lost.
 * Values held before the first pull are delivered first, then the stream is followed live.
 */
export const eagerValuesFrom = <T>(source$: Observable<T>): AsyncIterableIterator<T> => {
  const held: ObservableNotification<T>[] = [];
  let target: Subscriber<T> | undefined;
  const upstream = source$.subscribe({
    next: (value) => (target ? target.next(value) : held.push({ kind: 'N', value })),
    error: (error: unknown) => (target ? target.error(error) : held.push({ kind: 'E', error })),
    complete: () => (target ? target.complete() : held.push({ kind: 'C' })),
  });
  const live$ = new Observable<T>((subscriber) => {
    for (const n of held.splice(0)) deliver(n, subscriber);
    target = subscriber;
    return () => upstream.unsubscribe();
  });
  const values = eachValueFrom(live$);
  const finish = values.return!.bind(values);
  // An iterator dropped before its first pull must still let go of the stream.
  return Object.assign(values, {
    return: (value?: unknown) => {
      upstream.unsubscribe();
      return finish(value as never);
    },
  });
};
