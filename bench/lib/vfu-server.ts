/** Starts the benchmark device's server (bench/peers/vfu-server.ts) in a child process. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerLimits } from '../../src/server/index.js';

/** A running server: where to connect, and how to stop it. */
export interface ServerProcess {
  readonly socketPath: string;
  readonly pid: number;
  /** Resolves when the server prints `line` on a line of its own (after this call). */
  waitForLine(line: string): Promise<void>;
  /** Ends its stdin (it stops cleanly and exits), waits for the exit, removes the socket's directory. */
  close(): Promise<void>;
}

/** Options of a server process. */
export interface ServerProcessOptions {
  readonly limits?: Partial<ServerLimits>;
  /** A command that runs the child (e.g. `taskset -c 1`). */
  readonly prefix?: readonly string[];
  /** Extra node flags (e.g. `--expose-gc`). */
  readonly nodeArgs?: readonly string[];
  /** Extra environment variables (e.g. BENCH_SERVER_PROFILE). */
  readonly env?: Readonly<Record<string, string>>;
}

const SERVER = fileURLToPath(new URL('../peers/vfu-server.ts', import.meta.url));
const START_TIMEOUT_MS = 30_000;
const EXIT_TIMEOUT_MS = 10_000;

/** Spawns the server and resolves once it listens. */
export const startServer = (options: ServerProcessOptions = {}): Promise<ServerProcess> => {
  const dir = mkdtempSync(join(tmpdir(), 'vfu-bench-srv-'));
  const socketPath = join(dir, 'sock');
  const args = [...(options.nodeArgs ?? []), '--import', 'tsx', SERVER, socketPath, JSON.stringify(options.limits ?? {})];
  const [command, ...commandArgs] = [...(options.prefix ?? []), process.execPath, ...args];
  const child = spawn(command!, commandArgs, { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...options.env } });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const close = async () => {
    child.stdin!.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
  };
  return new Promise<ServerProcess>((resolve, reject) => {
    let out = '';
    const fail = (why: string) => {
      clearTimeout(timer);
      void close().then(() => reject(new Error(`benchmark server: ${why}`)));
    };
    const timer = setTimeout(() => fail(`not listening after ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    child.once('error', (err) => fail(err.message));
    child.once('exit', (code, signal) => fail(`exited with ${signal ?? code} before listening`));
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (!out.includes('listening\n')) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.stdout!.removeAllListeners('data').resume();
      const waitForLine = (line: string) =>
        new Promise<void>((done) => {
          let seen = '';
          const onData = (d: string) => {
            seen += d;
            if (!seen.split('\n').includes(line)) return;
            child.stdout!.off('data', onData);
            done();
          };
          child.stdout!.on('data', onData);
        });
      resolve({ socketPath, pid: child.pid!, waitForLine, close });
    });
  });
};
