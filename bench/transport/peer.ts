/** Starts an echo peer in a child Node process, connected to this one by a socketpair. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { native, type Channel } from '../../src/native/index.js';
import type { PeerReport } from '../peers/meter.js';

/** The echo peers of bench/peers/. */
export type PeerKind = 'echo-channel' | 'echo-endpoint';

/** A running peer: our end of the socket, and its report once we hang up. */
export interface Peer {
  /** Our end, not started. Closing it makes the peer report and exit. */
  readonly channel: Channel;
  /** The peer's report; rejects if it exits without one or with a failure. */
  readonly report: Promise<PeerReport>;
}

/** Options of a peer. */
export interface PeerOptions {
  /** Messages the peer answers before it starts measuring its CPU time. */
  readonly warmup: number;
  /** Peer-specific mode (echo-channel: `reply` turns commands into replies). */
  readonly mode?: string;
  /** A command that runs the child (e.g. `taskset -c 1`). */
  readonly prefix?: readonly string[];
}

// The child's end becomes its fd 3 (spawn dup2s it there, which also drops CLOEXEC).
const CHILD_FD = 3;

/** Spawns `bench/peers/<kind>.ts` with one end of a fresh socketpair. */
export const spawnPeer = (kind: PeerKind, options: PeerOptions): Peer => {
  const [ours, theirs] = native.socketpair();
  const file = fileURLToPath(new URL(`../peers/${kind}.ts`, import.meta.url));
  const args = ['--import', 'tsx', file, String(CHILD_FD), String(options.warmup)];
  if (options.mode) args.push(options.mode);
  const [command, ...commandArgs] = [...(options.prefix ?? []), process.execPath, ...args];
  let child: ChildProcess;
  try {
    child = spawn(command!, commandArgs, { stdio: ['ignore', 'pipe', 'inherit', theirs] });
  } catch (err) {
    native.close(ours);
    throw err;
  } finally {
    native.close(theirs); // the child has its own copy now
  }
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const report = new Promise<PeerReport>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line) reject(new Error(`peer ${kind} exited with ${signal ?? code}: ${out.trim()}`));
      else resolve(JSON.parse(line) as PeerReport);
    });
  });
  try {
    return { channel: native.channelFromFd(ours), report };
  } catch (err) {
    native.close(ours); // the child sees EOF and exits
    report.catch(() => undefined);
    throw err;
  }
};
