/** The Listener of the contract, over the addon's raw listener. */
import { ClosedError } from '../protocol/errors.js';
import { addon, asNativeError, call, type RawListener } from './addon.js';
import { openChannel } from './channel.js';
import type { Channel, Listener } from './types.js';

class NativeListener implements Listener {
  readonly #raw: RawListener;
  #closed = false;

  constructor(raw: RawListener) {
    this.#raw = raw;
  }

  get fd(): number {
    return this.#raw.fd;
  }

  start(onConnection: (channel: Channel) => void, onError: (err: Error) => void): void {
    if (this.#closed) throw new ClosedError('listener is closed');
    call(() =>
      this.#raw.start(
        (fd) => {
          let channel: Channel;
          try {
            channel = openChannel(fd);
          } catch (err) {
            addon.close(fd);
            onError(asNativeError(err));
            return;
          }
          onConnection(channel);
        },
        (err) => onError(asNativeError(err)),
      ),
    );
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#raw.close();
  }
}

/** Wraps a listening socket fd as a Listener; on failure the caller still owns the fd. */
export const openListener = (fd: number): Listener => new NativeListener(call(() => new addon.Listener(fd)));
