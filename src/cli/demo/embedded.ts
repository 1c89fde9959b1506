/** The demo's in-process server: a sample device on a socket in a fresh temporary directory. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReplaySubject, filter, firstValueFrom, map, timeout, type Subscription } from 'rxjs';
import { serve, type PciDevice, type ServerEvent } from '../../server/index.js';

/** A served device; `stop` closes it, removes the socket and its directory (idempotent). */
export interface EmbeddedServer {
  readonly socketPath: string;
  /** The error serving ended with, if any. */
  failure(): unknown;
  /** Resolves once the server has seen its client go (or after `waitMs`, whichever comes first). */
  clientGone(waitMs: number): Promise<void>;
  stop(): void;
}

/**
 * Serves `device` on `<tmpdir>/vfio-user-demo-XXXXXX/<name>.sock`. A directory of its own per run
 * means a second run never meets the first one's socket, even after a crash.
 */
export const embeddedServer = (device: PciDevice, name: string, onEvent: (e: ServerEvent) => void): EmbeddedServer => {
  const dir = mkdtempSync(join(tmpdir(), 'vfio-user-demo-'));
  const socketPath = join(dir, `${name}.sock`);
  const events$ = new ReplaySubject<ServerEvent>();
  let failure: unknown;
  let sub: Subscription | undefined;
  const stop = () => {
    sub?.unsubscribe();
    rmSync(dir, { recursive: true, force: true });
  };
  sub = serve(device, { socketPath }).subscribe({
    next: (e) => {
      onEvent(e);
      events$.next(e);
    },
    error: (err: unknown) => (failure = err),
  });
  if (failure !== undefined) {
    stop();
    throw failure;
  }
  const clientGone = (waitMs: number) =>
    firstValueFrom(
      events$.pipe(
        filter((e) => e.kind === 'disconnected'),
        map(() => undefined),
        timeout({ first: waitMs, with: () => [undefined] }),
      ),
    );
  return { socketPath, failure: () => failure, clientGone, stop };
};
