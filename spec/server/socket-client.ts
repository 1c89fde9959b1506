// A minimal vfio-user client for the real-socket specs: the native channel, a connection and an
// endpoint, requests encoded with the codecs, and DMA_READ/DMA_WRITE answered from a buffer.
import { firstValueFrom } from 'rxjs';
import { native, type Channel } from '../../src/native/index.js';
import { Command } from '../../src/protocol/constants.js';
import type { CapabilitiesInput } from '../../src/protocol/capabilities.js';
import { capabilitiesJson } from '../../src/protocol/capabilities.js';
import { decodeDmaReadRequest, decodeDmaWriteRequest, encodeDmaReadReply, encodeDmaWriteReply } from '../../src/protocol/dma-access.js';
import { Errno } from '../../src/protocol/errno.js';
import { decodeVersionReply, encodeVersionRequest, type VersionPayload } from '../../src/protocol/version.js';
import { connection } from '../../src/wire/connection.js';
import type { Frame } from '../../src/protocol/frame.js';
import { endpoint, type Endpoint } from '../../src/wire/endpoint.js';
import { qemuCapabilities } from '../../src/server/index.js';

/** A DMA request the client answered. */
export interface DmaSeen {
  readonly command: 'DMA_READ' | 'DMA_WRITE';
  readonly address: number;
  readonly count: number;
  /** Which socket it came on. */
  readonly socket: 'main' | 'twin';
}

const open = (channel: Channel): Endpoint => endpoint(connection(channel, { closeFd: native.close }), { timeoutMs: 5000, closeFd: native.close });

/** Answers the server's DMA requests on `ep` from `memory` (guest RAM from IOVA 0). */
const serveDma = (ep: Endpoint, memory: Buffer, seen: DmaSeen[], socket: 'main' | 'twin'): void => {
  ep.commands$.subscribe((f: Frame) => {
    for (const fd of f.fds) native.close(fd);
    if (f.header.command === Command.DMA_READ) {
      const { address, count } = decodeDmaReadRequest(f.payload);
      seen.push({ command: 'DMA_READ', address, count, socket });
      if (address + count > memory.length) return ep.replyError(f, Errno.EFAULT);
      return ep.reply(f, encodeDmaReadReply({ address, data: memory.subarray(address, address + count) }));
    }
    if (f.header.command === Command.DMA_WRITE) {
      const { address, count, data } = decodeDmaWriteRequest(f.payload);
      seen.push({ command: 'DMA_WRITE', address, count, socket });
      if (address + count > memory.length) return ep.replyError(f, Errno.EFAULT);
      data?.copy(memory, address);
      // Header-only, as QEMU answers.
      return socket === 'twin' ? ep.reply(f, encodeDmaWriteReply({ address, count })) : ep.reply(f);
    }
    ep.replyError(f, Errno.ENOSYS);
  });
};

/** A connected test client. */
export interface TestClient {
  readonly ep: Endpoint;
  readonly version: VersionPayload;
  readonly twin: boolean;
  /** DMA requests answered so far. */
  readonly dma: DmaSeen[];
  request(command: number, payload?: Buffer, fds?: readonly number[]): Promise<Frame>;
  close(): void;
}

/** Connects, negotiates (with `caps`, QEMU's by default), and answers DMA from `memory`. */
export const connectClient = async (path: string, options: { caps?: CapabilitiesInput; memory?: Buffer } = {}): Promise<TestClient> => {
  const ep = open(native.connect(path));
  const dma: DmaSeen[] = [];
  const memory = options.memory ?? Buffer.alloc(0);
  serveDma(ep, memory, dma, 'main');
  const payload = encodeVersionRequest({ major: 0, minor: 2, json: capabilitiesJson(options.caps ?? qemuCapabilities) });
  const reply = await firstValueFrom(ep.request(Command.VERSION, payload));
  const version = decodeVersionReply(reply.payload);
  const twinFd = reply.fds[0];
  const twin = twinFd === undefined ? undefined : open(native.channelFromFd(twinFd));
  if (twin) serveDma(twin, memory, dma, 'twin');
  return {
    ep,
    version,
    twin: twin !== undefined,
    dma,
    request: (command, body, fds) => firstValueFrom(ep.request(command, body, { fds })),
    close: () => {
      twin?.close();
      ep.close();
    },
  };
};

/** Resolves once `check` holds, polling on each turn of the event loop (no timing involved). */
export const until = async (check: () => boolean): Promise<void> => {
  while (!check()) await new Promise((r) => setImmediate(r));
};
