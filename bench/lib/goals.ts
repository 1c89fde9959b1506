/** Goal lines of benchmark reports: "met / NOT MET" with the ratio and how it varied cycle by cycle. */
import { summarize } from './stats.js';

/** One goal's outcome, as printed and as stored in the JSON results. */
export interface GoalResult {
  readonly text: string;
  /** The ratio the goal is about (median over median), undefined when not measured. */
  readonly ratio: number | undefined;
  readonly met: boolean;
  /** The same ratio cycle by cycle: median, min and max (when measured in cycles). */
  readonly paired?: { readonly median: number; readonly min: number; readonly max: number };
  /** A sentence of context (what the ratio compares, why it was not measured...). */
  readonly note?: string;
}

/** How a ratio is compared with its bound. */
export type Bound = { readonly atMost: number } | { readonly atLeast: number };

/** Builds a goal result from a ratio, a bound and optionally the per-cycle ratios. */
export const goal = (text: string, ratio: number | undefined, bound: Bound, paired?: readonly number[], note?: string): GoalResult => {
  const ok = ratio !== undefined && Number.isFinite(ratio) && ('atMost' in bound ? ratio <= bound.atMost : ratio >= bound.atLeast);
  const s = paired && paired.length > 0 ? summarize(paired) : undefined;
  return {
    text,
    ratio,
    met: ok,
    ...(s ? { paired: { median: s.median, min: s.min, max: s.max } } : {}),
    ...(note ? { note } : {}),
  };
};

/** The markdown line of a goal. */
export const goalLine = (g: GoalResult): string => {
  if (g.ratio === undefined || !Number.isFinite(g.ratio)) return `- ${g.text}: not measured${g.note ? ` (${g.note})` : ''}.`;
  const spread = g.paired
    ? ` (cycle by cycle: median ${g.paired.median.toFixed(2)}x, ${g.paired.min.toFixed(2)}x to ${g.paired.max.toFixed(2)}x)`
    : '';
  return `- ${g.text}: ${g.met ? 'met' : 'NOT MET'}, ${g.ratio.toFixed(2)}x${spread}${g.note ? `; ${g.note}` : ''}.`;
};
