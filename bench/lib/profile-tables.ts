/** The markdown report of one CPU profile: self time by source and by function, and time charged to project frames. */
import { summarizeProfile, type ProfileSummary } from './profile-summary.js';
import type { CpuProfile } from './profiler.js';
import { markdownTable } from './table.js';

/** Tables of `profile` with every time divided by `count` (time per `unit`, e.g. per round trip). */
export const profileTables = (title: string, profile: CpuProfile, count: number, unit: string, projectRoot: string): string => {
  const summary = summarizeProfile(profile, projectRoot);
  const rows = (shares: ProfileSummary['byFile']) => shares.map((s) => [s.name, s.us / count, s.percent]);
  const headers = (what: string) => [what, `us per ${unit}`, '% of busy'];
  return [
    `### ${title}: ${(summary.busyUs / count).toFixed(2)} us busy per ${unit}`,
    '',
    'Self time by source:',
    '',
    markdownTable(headers('source'), rows(summary.byFile), { digits: 2 }),
    '',
    'Charged to the innermost src/ frame on the stack (library time included):',
    '',
    markdownTable(headers('src frame'), rows(summary.chargedToProject), { digits: 2 }),
    '',
    'Self time by function:',
    '',
    markdownTable(headers('function'), rows(summary.byFunction), { digits: 2 }),
  ].join('\n');
};
