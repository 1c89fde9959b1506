import { map, merge, withLatestFrom, type Observable, type Subscription } from 'rxjs';
import { P, match } from 'ts-pattern';
import { Command, DmaMapFlags } from '../protocol/constants.js';
import {
  decodeDmaReadRequest,
  decodeDmaWriteRequest,
  dmaReadReplyPieces,
  encodeDmaReadReply,
  encodeDmaWriteReply,
  type DmaAccess,
} from '../protocol/dma-access.js';
import { Errno } from '../protocol/errno.js';
import { MalformedMessageError } from '../protocol/errors.js';
import { SEND_AT_ONCE_BYTES } from '../wire/connection.js';
import type { Frame } from '../protocol/frame.js';
import type { Endpoint } from '../wire/endpoint.js';
import { findMapping, type GuestMapping, type MappingTable } from './mapping-table.js';

/** The answer to one server command: a reply payload or an errno. */
export type DmaAnswer =
  | { readonly kind: 'reply'; readonly payload: Buffer | readonly Buffer[] }
  | { readonly kind: 'error'; readonly errno: number };

const error = (errno: number): DmaAnswer => ({ kind: 'error', errno });

/** Told of every range a DMA_WRITE wrote into guest memory (the client's dirty log). */
export type Written = (address: number, count: number) => void;

/** The mapping an access may use, or the errno refusing it: EFAULT outside one mapping, EPERM without the right. */
const lookup = (table: MappingTable, access: DmaAccess, right: number): GuestMapping | DmaAnswer => {
  const mapping = findMapping(table, access.address, access.count);
  // A released section's view has length 0: treat it as gone.
  if (!mapping || mapping.buffer.length < mapping.size) return error(Errno.EFAULT);
  return (mapping.flags & right) === 0 ? error(Errno.EPERM) : mapping;
};

const isAnswer = (x: GuestMapping | DmaAnswer): x is DmaAnswer => 'kind' in x;

const dmaRead = (frame: Frame, table: MappingTable, maxDataXferSize: number): DmaAnswer => {
  const access = decodeDmaReadRequest(frame.payload, { maxDataXferSize });
  const found = lookup(table, access, DmaMapFlags.READ);
  if (isAnswer(found)) return found;
  const at = access.address - found.iova;
  const reply = { address: access.address, data: found.buffer.subarray(at, at + access.count) };
  // A large read goes out as a view of guest memory, which the socket reads in place: such a
  // message is written before reply() returns, while the mapping is still there.
  const payload = access.count >= SEND_AT_ONCE_BYTES ? dmaReadReplyPieces(reply) : encodeDmaReadReply(reply);
  return { kind: 'reply', payload };
};

const dmaWrite = (frame: Frame, table: MappingTable, maxDataXferSize: number, written?: Written): DmaAnswer => {
  const access = decodeDmaWriteRequest(frame.payload, { maxDataXferSize });
  const found = lookup(table, access, DmaMapFlags.WRITE);
  if (isAnswer(found)) return found;
  access.data?.copy(found.buffer, access.address - found.iova);
  written?.(access.address, access.count);
  return { kind: 'reply', payload: encodeDmaWriteReply({ address: access.address, count: access.count }) };
};

/**
 * Answers one server command from guest memory: DMA_READ and DMA_WRITE within one mapping and its
 * rights; E2BIG above our max_data_xfer_size, EFAULT outside a mapping, EPERM against its rights,
 * EINVAL when fds came along (as QEMU), a malformed request's own errno, ENOSYS for anything else.
 */
export const answerDma = (frame: Frame, table: MappingTable, maxDataXferSize: number, written?: Written): DmaAnswer => {
  if (frame.fds.length > 0) return error(Errno.EINVAL);
  try {
    return match(frame.header.command)
      .with(Command.DMA_READ, () => dmaRead(frame, table, maxDataXferSize))
      .with(Command.DMA_WRITE, () => dmaWrite(frame, table, maxDataXferSize, written))
      .with(P.number, () => error(Errno.ENOSYS))
      .exhaustive();
  } catch (err) {
    if (err instanceof MalformedMessageError) return error(err.errno);
    throw err;
  }
};

const respond = (ep: Endpoint, frame: Frame, table: MappingTable, maxDataXferSize: number, written?: Written): void => {
  let answer: DmaAnswer;
  try {
    answer = answerDma(frame, table, maxDataXferSize, written);
  } catch {
    answer = error(Errno.EINVAL);
  }
  if (answer.kind === 'reply') ep.reply(frame, answer.payload);
  else ep.replyError(frame, answer.errno);
};

/**
 * Serves the server's commands from every endpoint it may send them on (the main socket, and the
 * twin socket when negotiated), each answered on its own endpoint with the latest mapping table
 * (`table$` must hold a value from the start). Received fds are always closed. Stops when a
 * connection ends: the endpoint's closed$ carries the cause.
 */
export const serveDma = (
  endpoints: readonly Endpoint[],
  table$: Observable<MappingTable>,
  options: { readonly maxDataXferSize: number; readonly closeFd: (fd: number) => void; readonly written?: Written },
): Subscription =>
  merge(...endpoints.map((ep) => ep.commands$.pipe(withLatestFrom(table$), map(([frame, table]) => ({ ep, frame, table })))))
    .subscribe({
      next: ({ ep, frame, table }) => {
        frame.fds.forEach(options.closeFd);
        respond(ep, frame, table, options.maxDataXferSize, options.written);
        // A DMA_WRITE's data is in guest memory now: its buffer can take the next one.
        frame.release?.();
      },
      error: () => undefined,
    });
