/**
 * Fuzzing the server: one sample device served on a real socket, and for each case a hostile client
 * (see frames.ts) that speaks over a raw channel: lying headers, cut and split messages, fds of every
 * kind, memfds shrunk after DMA_MAP, a close in the middle of a message. After each case a good
 * client must be served within a second and find the device it knew; over the run no fd may be
 * left open, and nothing may be thrown or rejected unhandled.
 */
import { ftruncateSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { firstValueFrom } from 'rxjs';
import { native, type Channel } from '../../src/native/index.js';
import { Command, HeaderFlags, MessageType } from '../../src/protocol/constants.js';
import { encodeRegionReadRequest } from '../../src/protocol/region-access.js';
import { encodeVersionRequest } from '../../src/protocol/version.js';
import { RemoteError } from '../../src/protocol/errors.js';
import { connection } from '../../src/wire/connection.js';
import { endpoint } from '../../src/wire/endpoint.js';
import { serve } from '../../src/server/index.js';
import { sampleDevices, type SampleName } from '../../src/samples/index.js';
import { fdsOpenedSince, openFds } from '../fixtures/fds.js';
import { clientScript, goodVersion, header, pieces, type ClientScript, type FdKind } from './frames.js';

/** What a run found. */
export interface ServerFuzzReport {
  readonly device: SampleName;
  readonly cases: number;
  /** Replies that were not well-formed replies (each a description). */
  readonly badReplies: readonly string[];
  /** fds open after the run that were not before it. */
  readonly fdGrowth: readonly string[];
  /** Errors thrown or rejected with nobody to handle them, during the run. */
  readonly unhandled: readonly string[];
  /** Errors of the server's own event stream (it must never fail). */
  readonly serverErrors: readonly string[];
}

/** One turn of the event loop. */
export const tick = () => new Promise((r) => setImmediate(r));

/** Resolves with `p`, or rejects after `ms` naming `what`. */
export const within = <T>(ms: number, what: string, p: Promise<T>): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms (a hang)`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
};

/** A raw client: sends bytes as told, parses what comes back as reply headers. */
const rawClient = (path: string) => {
  const channel: Channel = native.connect(path);
  const state = { ended: false, got: Buffer.alloc(0), replies: [] as { command: number; flags: number; error: number; size: number }[], bad: [] as string[] };
  channel.start({
    data: (bytes, fds) => {
      fds.forEach(native.close);
      state.got = Buffer.concat([state.got, bytes]);
      while (state.got.length >= 16) {
        const size = state.got.readUInt32LE(4);
        const reply = { command: state.got.readUInt16LE(2), size, flags: state.got.readUInt32LE(8), error: state.got.readUInt32LE(12) };
        if (size < 16) {
          state.bad.push(`a message of msg_size ${size}`);
          state.got = Buffer.alloc(0);
          break;
        }
        if (state.got.length < size) break;
        state.got = state.got.subarray(size);
        const type = reply.flags & HeaderFlags.TYPE_MASK;
        // The server may send DMA requests (commands) to a client; its replies must be replies.
        if (type === MessageType.REPLY && (reply.flags & HeaderFlags.ERROR) !== 0 && reply.error === 0) {
          state.bad.push(`an error reply to command ${reply.command} with errno 0`);
        }
        if (type !== MessageType.REPLY && type !== MessageType.COMMAND) state.bad.push(`a message of type ${type}`);
        state.replies.push(reply);
      }
    },
    end: () => (state.ended = true),
    error: () => (state.ended = true),
  });
  return { channel, state };
};

const makeFd = (kind: FdKind, kept: number[]): number => {
  if (kind === 'eventfd') return native.eventfd(0);
  const fd = native.memfd('fuzz', kind === 'memfd' ? 0x4000 : 0x1000, { sealed: false });
  kept.push(native.dup(fd));
  return fd;
};

/** Plays one hostile client's script, then closes it and everything it made. */
const play = async (path: string, script: ClientScript): Promise<string[]> => {
  const { channel, state } = rawClient(path);
  const memfds: number[] = [];
  const send = (chunks: readonly Buffer[], fds: readonly FdKind[]) => {
    const made = fds.map((k) => makeFd(k, memfds));
    try {
      chunks.forEach((c, i) => channel.send([c], i === 0 ? made : undefined));
    } catch {
      state.ended = true;
    } finally {
      made.forEach(native.close);
    }
  };
  try {
    if (script.handshake) {
      const body = goodVersion();
      send([Buffer.concat([header(0, Command.VERSION, 16 + body.length, 0, 0), body])], []);
      for (let i = 0; i < 50 && state.replies.length === 0 && !state.ended; i++) await tick();
    }
    for (const s of script.steps) {
      if (state.ended) break;
      if (s.kind === 'send') {
        const parts = pieces(s.message.bytes, s.cuts);
        for (const [i, part] of parts.entries()) {
          send([part], i === 0 ? s.message.fds : []);
          if (parts.length > 1) await tick();
        }
      } else if (s.kind === 'close-mid-message') {
        send([s.message.bytes.subarray(0, Math.max(1, Math.min(s.keep, s.message.bytes.length - 1)))], s.message.fds);
        break;
      } else if (s.kind === 'shrink-memfds') {
        for (const fd of memfds) ftruncateSync(fd, 0);
      }
      await tick();
    }
    await tick();
    return state.bad;
  } finally {
    channel.close();
    memfds.forEach(native.close);
  }
};

/** What a good client sees of the device: VERSION, GET_INFO and the ids in config space. */
const identity = async (path: string): Promise<string> => {
  const ep = endpoint(connection(native.connect(path), { closeFd: native.close }), { timeoutMs: 1000, closeFd: native.close });
  try {
    ep.commands$.subscribe((f) => f.fds.forEach(native.close));
    const version = await firstValueFrom(ep.request(Command.VERSION, encodeVersionRequest({ major: 0, minor: 2, json: { capabilities: { max_msg_fds: 16 } } })));
    version.fds.forEach(native.close);
    const info = await firstValueFrom(ep.request(Command.DEVICE_GET_INFO, Buffer.from([16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])));
    const ids = await firstValueFrom(ep.request(Command.REGION_READ, encodeRegionReadRequest({ offset: 0, region: 7, count: 4 })));
    return `${info.payload.subarray(8).toString('hex')} ${ids.payload.subarray(16).toString('hex')}`;
  } finally {
    ep.close();
  }
};

/** The next client is served within a second (it may come while the server notices the last one left). */
const servedAgain = async (path: string, expected: string): Promise<void> => {
  const deadline = Date.now() + 1000;
  for (;;) {
    try {
      const seen = await within(1000, 'the next client', identity(path));
      if (seen !== expected) throw new Error(`the device changed: ${seen}, was ${expected}`);
      return;
    } catch (err) {
      const busy = err instanceof RemoteError && err.errno === 16;
      if (!busy || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 5));
    }
  }
};

/** The fds opened since `before` that are still open once pending closes had their turns of the loop. */
export const settledFds = async (before: ReturnType<typeof openFds>): Promise<string[]> => {
  let left = fdsOpenedSince(before);
  for (let i = 0; i < 50 && left.length > 0; i++) {
    await tick();
    left = fdsOpenedSince(before);
  }
  return left;
};

/** Runs `cases` hostile clients against a served sample device. Throws (fast-check's report, with seed and path) at the first failing case. */
export const fuzzServer = async (device: SampleName, cases: number, seed: number, path?: string): Promise<ServerFuzzReport> => {
  const dir = mkdtempSync(join(tmpdir(), 'vfio-user-fuzz-'));
  const socketPath = join(dir, `${device}.sock`);
  const serverErrors: string[] = [];
  const unhandled: string[] = [];
  const badReplies: string[] = [];
  const onUnhandled = (err: unknown) => unhandled.push(String((err as Error)?.stack ?? err));
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
  const sub = serve(sampleDevices[device].create(), { socketPath }, { timeoutMs: 300 }).subscribe({
    error: (err: unknown) => serverErrors.push(String(err)),
    next: (e) => e.kind === 'device-error' && serverErrors.push(`device-error: ${String(e.error)}`),
  });
  try {
    const expected = await identity(socketPath);
    await identity(socketPath);
    const before = openFds();
    await fc.assert(
      fc.asyncProperty(clientScript, async (script) => {
        const caseBefore = openFds();
        badReplies.push(...(await within(5000, 'a hostile client', play(socketPath, script))));
        await servedAgain(socketPath, expected);
        if (unhandled.length > 0 || serverErrors.length > 0) throw new Error(`${[...unhandled, ...serverErrors].join('\n')}`);
        const left = await settledFds(caseBefore);
        if (left.length > 0) throw new Error(`fds left open by this case: ${left.join(', ')}`);
      }),
      { numRuns: cases, seed, ...(path ? { path } : {}) },
    );
    const fdGrowth = await settledFds(before);
    return { device, cases, badReplies, fdGrowth, unhandled, serverErrors };
  } finally {
    sub.unsubscribe();
    process.off('unhandledRejection', onUnhandled);
    process.off('uncaughtException', onUnhandled);
    rmSync(dir, { recursive: true, force: true });
  }
};
