/** Turns the memory benchmark's checkpoints into its table, goal lines and JSON. */
import { goal, goalLine, type GoalResult } from '../lib/goals.js';
import { markdownTable, type Cell } from '../lib/table.js';
import type { Checkpoint, MemoryRun } from './client.js';

/** The bound on heap growth over the measured requests (bytes). */
export const HEAP_BOUND = 5 * 1024 * 1024;

const mb = (bytes: number): number => bytes / (1024 * 1024);

/** Requests or interrupts done between two checkpoints. */
const phaseOps = (c: Checkpoint, before: Checkpoint | undefined): number =>
  c.requests - (before?.requests ?? 0) + c.interrupts - (before?.interrupts ?? 0);

/** The report's text and data. */
export const memoryReport = (run: MemoryRun, setup: string) => {
  const cps = run.checkpoints;
  const base = cps[0]!;
  const afterRequests = [...cps].reverse().find((c) => c.interrupts === 0)!;
  const last = cps[cps.length - 1]!;
  const rows: Cell[][] = cps.map((c, i) => [
    c.label,
    mb(c.client.heapUsed),
    mb(c.client.heapUsed - base.client.heapUsed),
    mb(c.client.rss),
    mb(c.server.heapUsed),
    mb(c.server.heapUsed - base.server.heapUsed),
    mb(c.server.rss),
    String(c.pending),
    String(c.unmatchedReplies),
    c.phaseMs > 0 ? String(Math.round(phaseOps(c, cps[i - 1]) / (c.phaseMs / 1000))) : null,
  ]);
  const table = markdownTable(
    ['checkpoint', 'client heap MB', 'growth MB', 'client RSS MB', 'server heap MB', 'growth MB', 'server RSS MB', 'pending', 'unmatched', 'phase ops/s'],
    rows,
    { digits: 2 },
  );
  const gcNote = base.client.gcRan && base.server.gcRan ? undefined : 'node ran without --expose-gc: heap figures include garbage';
  const goals: GoalResult[] = [
    goal(
      `Client heap growth over ${afterRequests.requests} requests under 5 MB (ratio to 5 MB)`,
      (afterRequests.client.heapUsed - base.client.heapUsed) / HEAP_BOUND,
      { atMost: 1 },
      undefined,
      `${mb(afterRequests.client.heapUsed - base.client.heapUsed).toFixed(2)} MB; after the interrupts too: ${mb(last.client.heapUsed - base.client.heapUsed).toFixed(2)} MB${gcNote ? `; ${gcNote}` : ''}`,
    ),
    goal(
      `Server heap growth over ${afterRequests.requests} requests under 5 MB (ratio to 5 MB)`,
      (afterRequests.server.heapUsed - base.server.heapUsed) / HEAP_BOUND,
      { atMost: 1 },
      undefined,
      `${mb(afterRequests.server.heapUsed - base.server.heapUsed).toFixed(2)} MB; after the interrupts too: ${mb(last.server.heapUsed - base.server.heapUsed).toFixed(2)} MB`,
    ),
  ];
  const pendingMet = cps.every((c) => c.pending <= base.pending);
  const pendingLine =
    `- No growth in pending-request state: ${pendingMet ? 'met' : 'NOT MET'}, the client's correlator holds ` +
    `${cps.map((c) => c.pending).join(' / ')} pending requests at the checkpoints (${last.unmatchedReplies} unmatched replies).`;
  const lines = [setup, '', table, '', 'Goals:', ...goals.map(goalLine), pendingLine];
  return { text: lines.join('\n'), data: { setup, goals, pending: { met: pendingMet, counts: cps.map((c) => c.pending) }, run } };
};
