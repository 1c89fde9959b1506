/**
 * The fields of a traced message's payload, decoded with the protocol codecs (describePayload) and
 * written in hex like QEMU's trace events (`region=0x0 offset=0x14 count=0x4 data=01000000`).
 */
import { describePayload, formatFdList, type PayloadFields } from '../../protocol/index.js';
import { formatTrace, type TraceEvent } from '../../wire/trace.js';
import { hex } from '../args.js';

const render = (fields: PayloadFields): string =>
  Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? hex(v) : v}`)
    .join(' ');

/** The payload fields of a traced message ('' when it has none worth showing, e.g. an error reply). */
export const payloadFields = (e: TraceEvent): string => {
  if (!e.payload || e.payload.length === 0 || e.errno !== 0) return '';
  const fields = describePayload(e.command, e.type === 'reply', e.payload);
  // A monitor shows what came, even a message the codecs refuse.
  return typeof fields['undecodable'] === 'string' ? `(undecodable: ${fields['undecodable']})` : render(fields);
};

/**
 * A trace line, the payload's fields after the header's and a `|` (both have a flags and a size),
 * and what the message's fds are when the tracer looked (`fds: memfd:ram/0x100000`): what
 * `monitor`, `demo --trace`, `serve --trace`, `tap` and `decode` print.
 */
export const traceLine = (e: TraceEvent): string => {
  const fields = payloadFields(e);
  const line = fields ? `${formatTrace(e)} | ${fields}` : formatTrace(e);
  return e.fdInfo && e.fdInfo.length > 0 ? `${line} | fds: ${formatFdList(e.fdInfo)}` : line;
};
