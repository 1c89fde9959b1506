/**
 * The measured batches of the dma benchmark: one DmaCommand of the benchmark device per batch,
 * timed inside the server process (see bench/devices/benchDevice.ts), so each figure is the
 * device's own guest-memory access and not the client's round trip around it.
 */
import type { Device } from '../../src/client/index.js';
import { openBenchClient, type BenchClient, type DmaModeName } from '../lib/client.js';
import { BENCH_BAR, BenchReg, DmaOp, MAX_DMA_SIZE, dmaPattern, encodeDmaCommand, type DmaCommand } from '../devices/bench-device.js';
import type { Runner } from '../lib/interleave.js';
import type { ServerProcess } from '../lib/vfu-server.js';

/** One batch: bytes moved and the device's time for them. */
export interface DmaBatch {
  readonly bytes: number;
  readonly ms: number;
}

/** Guest address of the section DMA goes to. */
export const GUEST_IOVA = 0x10_0000;

/** A client with guest memory, opened on a server. */
export type DmaClient = BenchClient;

/** Opens a client in `mode` with one section of guest memory big enough for every size. */
export const openDmaClient = (server: ServerProcess, mode: DmaModeName): Promise<DmaClient> =>
  openBenchClient(server, mode, { prepare: (memory) => void memory.add({ iova: GUEST_IOVA, size: MAX_DMA_SIZE }) });

/** Runs one DmaCommand and returns the device's time for it. */
export const runCommand = async (dev: Device, command: DmaCommand): Promise<DmaBatch> => {
  const bar = dev.region(BENCH_BAR);
  await bar.write(BenchReg.DMA, encodeDmaCommand(command), { posted: false });
  const ms = (await bar.read(BenchReg.DMA_MS, 8)).readDoubleLE(0);
  return { bytes: command.reps * command.size, ms };
};

/** The operations of a batch, by runner kind. */
export type DmaKind = 'copy' | 'fd-read' | 'fd-write' | 'message-read' | 'message-write';

/** Runner key of a kind and size. */
export const runnerKey = (kind: DmaKind, size: number): string => `${kind}@${size}`;

/** Repetitions per batch: about `budget` bytes, at least 4 and at most 2000 operations. */
export const repsFor = (size: number, budget: number): number => Math.max(4, Math.min(2000, Math.floor(budget / size)));

/** The runner of one kind and size; `copy` runs on the fd client's server (any server would do). */
export const dmaRunner = (clients: Readonly<Record<'fd' | 'message', DmaClient>>, kind: DmaKind, size: number, reps: number): Runner<DmaBatch> => {
  const [mode, what] = kind === 'copy' ? (['fd', 'copy'] as const) : (kind.split('-') as ['fd' | 'message', 'read' | 'write']);
  const op = what === 'copy' ? DmaOp.COPY : what === 'read' ? DmaOp.READ : DmaOp.WRITE;
  const dev = clients[mode].dev;
  return { key: runnerKey(kind, size), batch: () => runCommand(dev, { op, reps, size, iova: GUEST_IOVA }) };
};

/** Checks that the device's writes reached the client's memory (a benchmark of writes that do not happen is worthless). */
export const checkWrites = async (client: DmaClient, size: number): Promise<void> => {
  const section = client.memory.sections[0]!;
  section.buffer.fill(0, 0, size);
  await runCommand(client.dev, { op: DmaOp.WRITE, reps: 1, size, iova: GUEST_IOVA });
  if (!section.buffer.subarray(0, size).equals(dmaPattern(size))) throw new Error(`a ${size}-byte DMA write did not reach guest memory`);
};
