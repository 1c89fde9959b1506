/** One-line renderings of what happens at run time: interrupts, server events. */
import type { InterruptSignal } from '../../client/index.js';
import type { ServerEvent } from '../../server/index.js';
import { traceNow } from '../../wire/trace.js';
import { hex } from '../args.js';
import { clock } from '../output.js';

/** An interrupt as `monitor` prints it, aligned with the trace lines: `12:00:00.123 !! interrupt msix vector=0x0 count=0x1`. */
export const formatInterrupt = (irq: Pick<InterruptSignal, 'type' | 'vector' | 'count'>, timestamp = traceNow()): string =>
  `${clock(timestamp)} !! interrupt ${irq.type} vector=${hex(irq.vector)} count=${hex(irq.count)}`;

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** A server event as `serve --verbose` prints it (the listening line is printed always). */
export const formatServerEvent = (e: ServerEvent, device: string): string => {
  switch (e.kind) {
    case 'listening':
      return `listening on ${e.path ?? 'the given fd'} (${device})`;
    case 'connected':
      return `client connected (twin socket ${e.twin ? 'yes' : 'no'}, client max_msg_fds ${e.clientMaxMsgFds})`;
    case 'disconnected':
      return `client disconnected: ${e.reason}`;
    case 'device-error':
      return `device error${e.region === undefined ? '' : ` in region ${e.region}`}: ${errorText(e.error)}`;
  }
};
