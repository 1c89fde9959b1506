/** The C baseline: bench/c/pingpong.c, compiled at run time into a temporary directory. */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SOURCE = fileURLToPath(new URL('../c/pingpong.c', import.meta.url));

/** One run of the C ping-pong: RTTs in microseconds, CPU of each side in microseconds. */
export interface CRun {
  readonly rtt: Float64Array;
  readonly parent: { readonly user: number; readonly system: number };
  readonly child: { readonly user: number; readonly system: number };
}

/** The compiled program, or why there is none. */
export type CBaseline =
  | {
      readonly available: true;
      /** One run; `cpus` pins the parent and the echo child ([parent, child]). */
      run(warmup: number, count: number, cpus?: readonly [number, number]): Promise<CRun>;
      dispose(): void;
    }
  | { readonly available: false; readonly reason: string };

const cpuLine = (lines: Map<string, string[]>, key: string) => {
  const [user, system] = (lines.get(key) ?? []).map(Number);
  if (user === undefined || system === undefined) throw new Error(`pingpong printed no ${key}`);
  return { user, system };
};

const parse = (stdout: string): CRun => {
  const lines = new Map(
    stdout
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .map(([key, ...values]) => [key!, values] as const),
  );
  const rtt = Float64Array.from(lines.get('rtt_ns') ?? [], (ns) => Number(ns) / 1000);
  if (rtt.length === 0) throw new Error('pingpong printed no rtt_ns');
  return { rtt, parent: cpuLine(lines, 'parent_cpu_us'), child: cpuLine(lines, 'child_cpu_us') };
};

/** Compiles the baseline with the system `cc -O2`; reports it unavailable when there is no compiler. */
export const compileCBaseline = async (): Promise<CBaseline> => {
  const dir = mkdtempSync(join(tmpdir(), 'vfu-bench-'));
  const binary = join(dir, 'pingpong');
  const dispose = () => rmSync(dir, { recursive: true, force: true });
  try {
    await run('cc', ['-O2', '-o', binary, SOURCE]);
  } catch (err) {
    dispose();
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    const reason = e.code === 'ENOENT' ? 'no `cc` on this machine' : `cc failed: ${e.stderr?.trim() || e.message}`;
    return { available: false, reason };
  }
  return {
    available: true,
    run: async (warmup, count, cpus) => {
      const args = [warmup, count, ...(cpus ?? [])].map(String);
      const { stdout } = await run(binary, args, { maxBuffer: 64 << 20 });
      return parse(stdout);
    },
    dispose,
  };
};
