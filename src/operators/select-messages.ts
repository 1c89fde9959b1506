import { defer, filter, type MonoTypeOperatorFunction } from 'rxjs';
import { describePayload } from '../protocol/describe.js';
import type { TraceEvent } from '../wire/trace.js';

/** Which traced messages to keep; every criterion given must hold. */
export interface MessageSelection {
  /** Command numbers (a reply is kept for its command). */
  readonly commands?: readonly number[];
  /**
   * Region indexes: REGION_READ/REGION_WRITE of these regions and GET_REGION_INFO/GET_REGION_IO_FDS
   * of these indexes, with their replies (error replies too, matched by message id).
   */
  readonly regions?: readonly number[];
  /** Only error replies. */
  readonly errors?: boolean;
}

const REGION_COMMANDS = new Set([5, 6, 9, 10]);

/** The region a message names, if it names one. */
const regionOf = (e: TraceEvent): number | undefined => {
  if (!REGION_COMMANDS.has(e.command) || !e.payload || e.payload.length === 0) return undefined;
  const fields = describePayload(e.command, e.type === 'reply', e.payload);
  const region = fields['region'] ?? fields['index'];
  return typeof region === 'number' ? region : undefined;
};

// A command and its reply travel opposite ways on the same socket of the same conversation.
const exchange = (e: TraceEvent, commandDirection: 'in' | 'out'): string =>
  `${(e as { session?: number }).session ?? 0}/${e.link ?? 'main'}/${commandDirection}/${e.id}/${e.command}`;

/**
 * Keeps the traced messages a selection asks for (`vfio-user tap --command --region --errors`).
 * A region is known from a request's payload; its reply is kept by matching the request's id, so
 * an error reply, which has no payload, is kept with it.
 *
 * ```
 * in:   --W0--r0--W2--r2--E0-->   (W0: REGION_WRITE region 0, r0 its reply, E0 an error reply to a region-0 read)
 * regions [0]:
 * out:  --W0--r0----------E0-->
 * ```
 */
export const selectMessages = <T extends TraceEvent>(selection: MessageSelection): MonoTypeOperatorFunction<T> => (source) =>
  defer(() => {
    const { commands, regions, errors } = selection;
    // Requests of the selected regions still waiting for their replies.
    const waiting = new Set<string>();
    const inRegions = (e: T): boolean => {
      if (!REGION_COMMANDS.has(e.command)) return false;
      if (e.type === 'command') {
        const keep = regions!.includes(regionOf(e) ?? -1);
        if (keep && !e.noReply) waiting.add(exchange(e, e.direction));
        return keep;
      }
      return waiting.delete(exchange(e, e.direction === 'in' ? 'out' : 'in'));
    };
    return source.pipe(
      filter((e) => {
        if (commands && !commands.includes(e.command)) return false;
        if (regions && !inRegions(e)) return false;
        return !errors || (e.type === 'reply' && (e.errno !== 0 || (e.flags & 0x20) !== 0));
      }),
    );
  });
