// Serves one of the project's devices on a temp socket and opens it with the client, in either
// of the two ways the protocol allows: with fds (memfds, region fds, twin socket) or by messages only.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ReplaySubject, filter, firstValueFrom, type Subscription } from 'rxjs';
import { openDevice, type ClientOptions, type Device, type GuestMemory } from '../../src/client/index.js';
import { serve, type PciDevice, type ServeOptions, type ServerEvent } from '../../src/server/index.js';

/** The two ways to run: fds wherever the protocol allows them, or none from the server at all. */
export const modes: Readonly<Record<'fd' | 'message', ClientOptions>> = {
  fd: { dmaMode: 'fd' },
  // max_msg_fds 0: the server sends us no region fd and no twin socket; DMA goes by DMA_READ/WRITE.
  message: { dmaMode: 'message', maxMsgFds: 0 },
};

/** A device served on a temp socket, and the client opened on it. */
export interface Session {
  readonly dev: Device;
  readonly events: ServerEvent[];
  /** Closes the client, stops the server and removes the temp directory. */
  close(): Promise<void>;
}

/** Serves `device` and opens it with `options` (plus `memory` when given). */
export const session = async (
  device: PciDevice,
  options: ClientOptions,
  memory?: GuestMemory,
  serveOptions: ServeOptions = {},
): Promise<Session> => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vfio-user-int-'));
  const socketPath = path.join(dir, 'sock');
  const events: ServerEvent[] = [];
  const seen = new ReplaySubject<ServerEvent>();
  const sub: Subscription = serve(device, { socketPath }, serveOptions).subscribe({
    next: (e) => {
      events.push(e);
      seen.next(e);
    },
    error: (err: unknown) => seen.error(err),
  });
  await firstValueFrom(seen.pipe(filter((e) => e.kind === 'listening')));
  const stop = () => {
    sub.unsubscribe();
    rmSync(dir, { recursive: true, force: true });
  };
  let dev: Device;
  try {
    dev = await openDevice({ ...options, socketPath, ...(memory ? { memory } : {}) });
  } catch (err) {
    stop();
    throw err;
  }
  return {
    dev,
    events,
    close: async () => {
      await dev.close();
      stop();
    },
  };
};
