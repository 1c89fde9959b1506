/**
 * What metrics count, one update at a time, from traced messages (any side's trace, the tap's
 * stream, a capture) and from a server's activity (interrupts, DMA through the mappings).
 */
import { Observable, type OperatorFunction } from 'rxjs';
import { Command, HeaderFlags, commandName } from '../protocol/constants.js';
import { describePayload } from '../protocol/describe.js';
import { errnoName } from '../protocol/errno.js';
import type { TraceEvent } from '../wire/trace.js';

/** What a device does that no message shows (ServerActivity of the server layer, by shape). */
export type ActivityEvent =
  | { readonly kind: 'interrupt'; readonly type: string; readonly vector: number }
  | { readonly kind: 'dma'; readonly path: 'mapping'; readonly direction: 'read' | 'write'; readonly bytes: number };

/** What metrics are made from: a traced message, or a server's activity. */
export type MonitorEvent = TraceEvent | ActivityEvent;

/** Which way a message went, named the same whichever side traced it. */
export type Flow = 'client_to_server' | 'server_to_client';

/** One change to the counters. */
export type MetricUpdate =
  | { readonly kind: 'message'; readonly command: string; readonly type: 'command' | 'reply'; readonly flow: Flow }
  | { readonly kind: 'error'; readonly command: string; readonly errno: string }
  | { readonly kind: 'latency'; readonly command: string; readonly seconds: number }
  | { readonly kind: 'posted-write'; readonly writes: number }
  | { readonly kind: 'dma'; readonly path: 'mapping' | 'messages'; readonly direction: 'read' | 'write'; readonly bytes: number }
  | { readonly kind: 'interrupt'; readonly type: string; readonly vector: number }
  | { readonly kind: 'dma-maps'; readonly held: number };

/** Options of metricUpdates. */
export interface MetricUpdatesOptions {
  /**
   * Whose trace it is: 'client' (a client's trace$, the tap: `out` goes to the server) or 'server'
   * (serve's trace: `in` comes from the client). Default 'client'.
   */
  readonly side?: 'client' | 'server';
}

const isActivity = (e: MonitorEvent): e is ActivityEvent => 'kind' in e && (e.kind === 'interrupt' || e.kind === 'dma');

/** A request waiting for its reply: when it went and what it asked (DMA_MAP/UNMAP change the maps held). */
interface Pending {
  readonly at: number;
  readonly unmapAll: boolean;
  /** DMA_READ/DMA_WRITE: the bytes asked for (QEMU answers DMA_WRITE with a bare header). */
  readonly bytes: number;
}

/**
 * Turns traced messages and server activity into counter updates: every message by command, type
 * and flow; error replies by errno; each reply's latency since its command (matched by socket,
 * direction, id and command); posted writes; DMA bytes by DMA_READ/DMA_WRITE messages (from the
 * successful ones) and through the mappings (from activity); interrupts; the DMA maps held after
 * each successful DMA_MAP or DMA_UNMAP.
 */
export const metricUpdates = (options: MetricUpdatesOptions = {}): OperatorFunction<MonitorEvent, MetricUpdate> => (source) =>
  new Observable<MetricUpdate>((subscriber) => {
    const toServer = options.side === 'server' ? 'in' : 'out';
    // Requests in flight, and what the client has mapped (kept inside the operator, as RxJS's own keep theirs).
    const pending = new Map<string, Pending>();
    let maps = 0;
    const key = (e: TraceEvent, commandDirection: string) =>
      `${(e as { session?: number }).session ?? 0}/${e.link ?? 'main'}/${commandDirection}/${e.id}/${e.command}`;
    const message = (e: TraceEvent) => {
      const command = commandName(e.command);
      const flow: Flow = e.direction === toServer ? 'client_to_server' : 'server_to_client';
      subscriber.next({ kind: 'message', command, type: e.type, flow });
      if (e.type === 'command') {
        if (e.noReply && e.command === Command.REGION_WRITE) subscriber.next({ kind: 'posted-write', writes: 1 });
        if (e.noReply && e.command === Command.REGION_WRITE_MULTI && e.payload) {
          const count = describePayload(e.command, false, e.payload)['wr_cnt'];
          if (typeof count === 'number') subscriber.next({ kind: 'posted-write', writes: count });
        }
        if (!e.noReply) {
          const p = e.payload;
          const unmapAll = e.command === Command.DMA_UNMAP && !!p && p.length >= 8 && (p.readUInt32LE(4) & 2) !== 0;
          const dma = (e.command === Command.DMA_READ || e.command === Command.DMA_WRITE) && !!p && p.length >= 16;
          pending.set(key(e, e.direction), { at: e.timestamp, unmapAll, bytes: dma ? Number(p.readBigUInt64LE(8)) : 0 });
        }
        return;
      }
      const k = key(e, e.direction === 'in' ? 'out' : 'in');
      const request = pending.get(k);
      pending.delete(k);
      if (request) subscriber.next({ kind: 'latency', command, seconds: Math.max(0, e.timestamp - request.at) / 1000 });
      if (e.errno !== 0 || (e.flags & HeaderFlags.ERROR) !== 0) return subscriber.next({ kind: 'error', command, errno: errnoName(e.errno) });
      if (request && (e.command === Command.DMA_READ || e.command === Command.DMA_WRITE)) {
        subscriber.next({ kind: 'dma', path: 'messages', direction: e.command === Command.DMA_READ ? 'read' : 'write', bytes: request.bytes });
      }
      if (request && (e.command === Command.DMA_MAP || e.command === Command.DMA_UNMAP)) {
        maps = e.command === Command.DMA_MAP ? maps + 1 : request.unmapAll ? 0 : Math.max(0, maps - 1);
        subscriber.next({ kind: 'dma-maps', held: maps });
      }
    };
    return source.subscribe({
      next: (e) => {
        if (!isActivity(e)) return message(e);
        if (e.kind === 'interrupt') subscriber.next({ kind: 'interrupt', type: e.type, vector: e.vector });
        else subscriber.next({ kind: 'dma', path: 'mapping', direction: e.direction, bytes: e.bytes });
      },
      error: (err) => subscriber.error(err),
      complete: () => subscriber.complete(),
    });
  });
