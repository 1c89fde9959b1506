/** A benchmark client with its guest memory, opened on a benchmark server in fd or message mode. */
import { openDevice, guestMemory, type ClientOptions, type Device, type GuestMemory } from '../../src/client/index.js';
import type { ServerProcess } from './vfu-server.js';

/** How the client offers guest memory; `message` takes no fd at all from the server either. */
export const DMA_MODES: Readonly<Record<'fd' | 'message', ClientOptions>> = {
  fd: { dmaMode: 'fd' },
  message: { dmaMode: 'message', maxMsgFds: 0 },
};

/** A DMA mode of the benchmarks. */
export type DmaModeName = keyof typeof DMA_MODES;

/** A client with guest memory, opened on a server. */
export interface BenchClient {
  readonly dev: Device;
  readonly memory: GuestMemory;
  close(): Promise<void>;
}

/**
 * Opens a client in `mode` on `server`; `prepare` adds guest memory before the device opens
 * (its sections are mapped at realize). Fails if the client did not get the mode asked for.
 */
export const openBenchClient = async (
  server: ServerProcess,
  mode: DmaModeName,
  options: { readonly timeoutMs?: number; readonly prepare?: (memory: GuestMemory) => void } = {},
): Promise<BenchClient> => {
  const memory = guestMemory();
  try {
    options.prepare?.(memory);
    const timeout = options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };
    const dev = await openDevice({ ...DMA_MODES[mode], ...timeout, socketPath: server.socketPath, memory });
    if (dev.dmaMode !== mode) throw new Error(`asked for DMA mode ${mode}, the client runs ${dev.dmaMode}`);
    return {
      dev,
      memory,
      close: async () => {
        await dev.close();
        memory.close();
      },
    };
  } catch (err) {
    memory.close();
    throw err;
  }
};
