import { Observable } from 'rxjs';
import type { Native } from '../native/types.js';

/**
 * Signals of an eventfd as a stream: each emission is the counter value read (how many signals
 * were merged since the last read). Watching starts on subscription and stops on unsubscribe;
 * the fd itself stays open (its owner closes it).
 */
export const eventfd$ = (native: Native, fd: number): Observable<bigint> =>
  new Observable<bigint>((subscriber) => {
    const drain = () => {
      const value = native.eventfdRead(fd);
      if (value > 0n) subscriber.next(value);
    };
    const watcher = native.watchReadable(fd, drain);
    // A signal written before the watch began is still in the counter.
    drain();
    return () => watcher.stop();
  });
