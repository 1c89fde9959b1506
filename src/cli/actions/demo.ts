/**
 * What `vfio-user demo` does: the whole story in one process. Serves the dma-engine sample on a temporary
 * socket, opens it with the client, maps guest memory, runs a DMA copy, waits for the completion
 * interrupt and checks the copied bytes.
 */
import { randomBytes } from 'node:crypto';
import { firstValueFrom, throwError, timeout } from 'rxjs';
import { guestMemory, openDevice, type Device, type GuestMemory, type InterruptSignal } from '../../client/index.js';
import { formatConfig } from '../../pci/index.js';
import { dmaEngineDevice } from '../../samples/index.js';
import type { TraceEvent } from '../../wire/trace.js';
import { hex, irqName, regionName } from '../args.js';
import { CliError } from '../errors.js';
import { enableMsix, finishedCopy, startCopy } from '../demo/engine.js';
import { embeddedServer, type EmbeddedServer } from '../demo/embedded.js';
import { formatServerEvent } from '../format/events.js';
import { deviceFlags, regionFlags } from '../format/flags.js';
import { limitsLine } from '../format/info.js';
import { traceLine } from '../format/payload.js';
import { print } from '../output.js';
import type { DemoFlags } from '../options.js';


/** Where guest RAM sits, and what the demo copies inside it. */
const RAM = { iova: 0x100000, size: 0x10000 } as const;
const COPY = { from: 0x0, to: 0x8000, length: 0x1000 } as const;
const IRQ_WAIT_MS = 5000;
const DISCONNECT_WAIT_MS = 1000;

const say = (who: 'demo' | 'server' | 'client', text: string): void => print(`[${who}] ${text}`);

const describeDevice = (dev: Device): void => {
  say('client', `connected: vfio-user ${dev.version.major}.${dev.version.minor}, device flags ${deviceFlags(dev.info.flags)}`);
  say('client', `server limits: ${limitsLine(dev)}`);
  for (const r of dev.regions.filter((x) => x.size > 0)) {
    say('client', `region ${regionName(r.index)}: size ${hex(r.size)}, flags ${regionFlags(r.flags)}`);
  }
  say('client', `IRQs: ${dev.irqs.filter((i) => i.count > 0).map((i) => `${irqName(i.index)} x${i.count}`).join(', ')}`);
  for (const line of formatConfig(dev.config).slice(0, 3)) say('client', `config: ${line}`);
  const how = dev.dmaMode === 'fd'
    ? 'mapped for DMA with its memfd: the device reads and writes it directly'
    : 'mapped for DMA without fds: the device reaches it with DMA_READ/DMA_WRITE messages';
  say('client', `guest memory: ${hex(RAM.size)} bytes at iova ${hex(RAM.iova)}, ${how}`);
};

/** The next interrupt, subscribed now (the stream is hot), failing after IRQ_WAIT_MS. */
const nextInterrupt = (dev: Device): Promise<InterruptSignal> => {
  const irq = firstValueFrom(
    dev.rx.interrupts$.pipe(timeout({ first: IRQ_WAIT_MS, with: () => throwError(() => new CliError(`no completion interrupt within ${IRQ_WAIT_MS} ms`)) })),
  );
  // Awaited by the caller later; until then a failure must not count as unhandled.
  irq.catch(() => undefined);
  return irq;
};

/** The copy, its interrupt and the check of the bytes. */
const runCopy = async (dev: Device, memory: GuestMemory): Promise<void> => {
  const ram = memory.sections[0]!;
  const source = randomBytes(COPY.length);
  source.copy(ram.buffer, COPY.from);
  ram.buffer.fill(0, COPY.to, COPY.to + COPY.length);
  await enableMsix(dev);
  say('client', `MSI-X enabled (${dev.irqs[2]?.count ?? 0} vectors, an eventfd each)`);
  const irq = nextInterrupt(dev);
  const [src, dst] = [RAM.iova + COPY.from, RAM.iova + COPY.to];
  await startCopy(dev, { src, dst, length: COPY.length, vector: 0 });
  say('client', `DMA copy started: ${hex(COPY.length)} bytes from iova ${hex(src)} to iova ${hex(dst)}`);
  const got = await irq;
  say('client', `interrupt: ${got.type} vector ${got.vector} arrived (completion)`);
  const state = await finishedCopy(dev);
  say('client', `engine STATUS ${hex(state.status)} (DONE), copies completed: ${state.completed}`);
  const copied = ram.buffer.subarray(COPY.to, COPY.to + COPY.length);
  if (!copied.equals(source)) throw new CliError(`the copied bytes differ from the source at offset ${hex(copied.findIndex((b, i) => b !== source[i]))}`);
  say('client', `verified: the ${hex(COPY.length)} bytes at iova ${hex(dst)} match the source`);
};

/** Opens the device with the guest memory, runs the copy, closes the device. */
const drive = async (server: EmbeddedServer, memory: GuestMemory, flags: DemoFlags): Promise<void> => {
  const received = { dmaRequests: 0 };
  const onTrace = (e: TraceEvent) => {
    if (e.direction === 'in' && e.type === 'command') received.dmaRequests++;
    if (flags.trace) print(traceLine(e));
  };
  const dev = await openDevice({ socketPath: server.socketPath, memory, dmaMode: flags.messageDma ? 'message' : 'fd', onTrace });
  try {
    describeDevice(dev);
    await runCopy(dev, memory);
    if (dev.dmaMode === 'message') say('client', `the device sent ${received.dmaRequests} DMA request message(s) to do it`);
  } finally {
    await dev.close();
  }
};

/** Runs the demo: server and client in this process. */
export const demo = async (flags: DemoFlags): Promise<void> => {
  const server = embeddedServer(dmaEngineDevice(), 'dma-engine', (e) => say('server', formatServerEvent(e, 'dma-engine')));
  const memory = guestMemory();
  // Cut short: release now and exit (the steps in flight would only fail one after the other).
  const onSignal = (signal: NodeJS.Signals) => {
    memory.close();
    server.stop();
    process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  try {
    memory.add({ ...RAM, name: 'demo-guest-ram' });
    await drive(server, memory, flags);
    await server.clientGone(DISCONNECT_WAIT_MS);
  } finally {
    process.removeListener('SIGINT', onSignal).removeListener('SIGTERM', onSignal);
    memory.close();
    server.stop();
  }
  if (server.failure() !== undefined) throw server.failure();
  say('demo', 'done: device closed, server stopped, socket removed');
};
