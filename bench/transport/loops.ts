/**
 * The initiating side of the ping-pong: one 16-byte message out, wait for its answer, repeat.
 * A driver lives as long as its peer and runs measured batches on demand, so the benchmark can
 * interleave short batches of every variant.
 */
import { firstValueFrom } from 'rxjs';
import { endpoint } from '../../src/wire/endpoint.js';
import type { Channel } from '../../src/native/index.js';
import { native } from '../../src/native/index.js';
import { Command, HEADER_SIZE } from '../../src/protocol/constants.js';
import { writeHeader } from '../../src/protocol/header.js';
import { connection } from '../../src/wire/connection.js';

/** Round-trip times of a batch (microseconds) and this process's CPU time over it. */
export interface Measured {
  readonly rtt: Float64Array;
  readonly cpu: NodeJS.CpuUsage;
}

/** Runs batches of round trips over one connection. */
export interface Driver {
  /** Runs `count` round trips, one at a time. */
  batch(count: number): Promise<Measured>;
  /** Hangs up (the peer then reports and exits). */
  close(): void;
}

/** A well-formed command header alone: the 16-byte message every variant sends. */
export const PING: Buffer = (() => {
  const buf = Buffer.alloc(HEADER_SIZE);
  writeHeader({ id: 0, command: Command.DEVICE_RESET, size: HEADER_SIZE, flags: 0, error: 0 }, buf);
  return buf;
})();

interface BareBatch {
  readonly rtt: Float64Array;
  readonly cpu0: NodeJS.CpuUsage;
  readonly resolve: (m: Measured) => void;
  readonly reject: (err: Error) => void;
  done: number;
  t0: number;
}

/**
 * Bare channel: callbacks only, no promise per message, so this is the floor the framework is
 * compared with.
 */
export const bareDriver = (channel: Channel): Driver => {
  let current: BareBatch | undefined;
  let failure: Error | undefined;
  let pending = 0; // bytes of the current answer received so far
  const fail = (err: Error) => {
    failure ??= err;
    current?.reject(err);
    current = undefined;
  };
  channel.start({
    data: (bytes) => {
      pending += bytes.length;
      if (pending < HEADER_SIZE || !current) return;
      pending -= HEADER_SIZE;
      const b = current;
      b.rtt[b.done++] = (performance.now() - b.t0) * 1000;
      if (b.done === b.rtt.length) {
        current = undefined;
        return b.resolve({ rtt: b.rtt, cpu: process.cpuUsage(b.cpu0) });
      }
      b.t0 = performance.now();
      channel.send([PING]);
    },
    end: () => fail(new Error('peer hung up')),
    error: fail,
  });
  return {
    batch: (count) =>
      new Promise((resolve, reject) => {
        if (failure) return reject(failure);
        current = { rtt: new Float64Array(count), cpu0: process.cpuUsage(), resolve, reject, done: 0, t0: performance.now() };
        channel.send([PING]);
      }),
    close: () => channel.close(),
  };
};

/**
 * Framework: connection + endpoint, one awaited request per round trip, as a caller of the
 * public API would write it: a promise as the waiter of `endpoint.issue` (the request primitive the
 * Promise facade uses), or with `observable` `firstValueFrom(endpoint.request(...))`.
 */
export const frameDriver = (channel: Channel, observable = false): Driver => {
  const closeFd = (fd: number) => native.close(fd);
  const ep = endpoint(connection(channel, { closeFd }), { timeoutMs: 0, closeFd });
  const once = observable ? () => firstValueFrom(ep.request(Command.DEVICE_RESET)) : () => new Promise((settle, fail) => void ep.issue(Command.DEVICE_RESET, undefined, { settle, fail }));
  return {
    batch: async (count) => {
      const rtt = new Float64Array(count);
      const cpu0 = process.cpuUsage();
      for (let i = 0; i < count; i++) {
        const t0 = performance.now();
        await once();
        rtt[i] = (performance.now() - t0) * 1000;
      }
      return { rtt, cpu: process.cpuUsage(cpu0) };
    },
    close: () => ep.close(),
  };
};
