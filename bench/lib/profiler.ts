/**
 * In-process CPU profiling through the inspector's Profiler domain, so that only the measured
 * part of a run is sampled (a `--cpu-prof` profile would be dominated by start-up and loading).
 */
import { readFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { findSourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

/** A V8 CPU profile (the `.cpuprofile` format). */
export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  /** Node id of each sample. */
  readonly samples: readonly number[];
  /** Microseconds between consecutive samples. */
  readonly timeDeltas: readonly number[];
}

/** One node of the call tree. */
export interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number; readonly columnNumber: number };
  readonly children?: readonly number[];
}

/** A running profiler. */
export interface Profiler {
  /** Stops sampling and returns the profile. */
  stop(): Promise<CpuProfile>;
}

const sourceLines = new Map<string, readonly string[]>();
const lineOf = (url: string, line: number): string => {
  if (!sourceLines.has(url)) sourceLines.set(url, readFileSync(fileURLToPath(url), 'utf8').split('\n'));
  return sourceLines.get(url)![line]?.trim() ?? '';
};

/**
 * Maps positions of transpiled TypeScript back to the source (tsx loads every module as one
 * generated line) and names anonymous functions by the start of their source line.
 */
const toSource = (profile: CpuProfile): CpuProfile => ({
  ...profile,
  nodes: profile.nodes.map((node) => {
    const { url, lineNumber, columnNumber, functionName } = node.callFrame;
    if (!url.startsWith('file:') || lineNumber < 0) return node;
    const entry = findSourceMap(url)?.findEntry(lineNumber, columnNumber);
    if (!entry || !('originalLine' in entry)) return node;
    const name = functionName || `(anonymous) ${lineOf(url, entry.originalLine).slice(0, 48)}`;
    return { ...node, callFrame: { ...node.callFrame, functionName: name, lineNumber: entry.originalLine, columnNumber: entry.originalColumn } };
  }),
});

/** Starts sampling this thread every `intervalUs` microseconds. */
export const startProfiler = async (intervalUs: number): Promise<Profiler> => {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
  await session.post('Profiler.start');
  return {
    stop: async () => {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      return toSource(profile as unknown as CpuProfile);
    },
  };
};
