/** Where the time of a CPU profile goes: by file or package, by function, and charged to project files. */
import type { CpuProfile, ProfileNode } from './profiler.js';

/** Time of one bucket, in microseconds and as a share of the busy (non-idle) time. */
export interface Share {
  readonly name: string;
  readonly us: number;
  readonly percent: number;
}

/** The three views of a profile. */
export interface ProfileSummary {
  /** Sampled time that was not idle. */
  readonly busyUs: number;
  /** Self time by source: a project file, a package, node internals, native code, GC. */
  readonly byFile: readonly Share[];
  /** Self time by function (`name file:line`). */
  readonly byFunction: readonly Share[];
  /** Every sample charged to the innermost project frame on its stack (library code included). */
  readonly chargedToProject: readonly Share[];
}

const IDLE = new Set(['(idle)', '(root)']);

/** The bucket of a frame: project files by path, packages by name, the rest by kind. */
export const sourceOf = (frame: ProfileNode['callFrame'], projectRoot: string): string => {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const path = decodeURIComponent(url.replace(/^file:\/\//, ''));
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (pkg) return pkg[1]!;
  return path.startsWith(projectRoot) ? path.slice(projectRoot.length).replace(/^\//, '') : path;
};

const ranked = (totals: Map<string, number>, busy: number, top: number): Share[] =>
  [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, us]) => ({ name, us, percent: (100 * us) / busy }));

const add = (totals: Map<string, number>, key: string, us: number) => totals.set(key, (totals.get(key) ?? 0) + us);

/**
 * Summarizes a profile. `projectRoot` is the repository folder; frames under its src/ are the
 * project frames that library time is charged to.
 */
export const summarizeProfile = (profile: CpuProfile, projectRoot: string, top = 25): ProfileSummary => {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const isProject = (n: ProfileNode) => sourceOf(n.callFrame, projectRoot).startsWith('src/');
  const files = new Map<string, number>();
  const functions = new Map<string, number>();
  const charged = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    // A sample lasts until the next one; the last gets the mean interval.
    const us = profile.timeDeltas[i + 1] ?? (profile.endTime - profile.startTime) / profile.samples.length;
    const node = byId.get(id)!;
    if (IDLE.has(node.callFrame.functionName)) return;
    busy += us;
    const source = sourceOf(node.callFrame, projectRoot);
    add(files, source, us);
    add(functions, `${node.callFrame.functionName || '(anonymous)'} ${source}:${node.callFrame.lineNumber + 1}`, us);
    let owner: ProfileNode | undefined = node;
    while (owner && !isProject(owner)) owner = byId.get(parent.get(owner.id) ?? -1);
    add(charged, owner ? `${sourceOf(owner.callFrame, projectRoot)} ${owner.callFrame.functionName || '(anonymous)'}` : `(outside src) ${source}`, us);
  });
  return { busyUs: busy, byFile: ranked(files, busy, top), byFunction: ranked(functions, busy, top), chargedToProject: ranked(charged, busy, top) };
};
