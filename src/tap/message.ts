/** The tap's message event as a class: its payload is decoded only when `fields` is read. */
import { HeaderFlags, MessageType, commandName } from '../protocol/constants.js';
import { describePayload, type PayloadFields } from '../protocol/describe.js';
import type { FdInfo } from '../protocol/fd-info.js';
import type { Header } from '../protocol/header.js';
import { traceNow } from '../wire/trace.js';
import type { Side, TapMessage } from './events.js';

/**
 * A message the tap passed on. A class, so that its payload is decoded only when `fields` is read
 * (a capture or a counter never needs it) and no function is made per message.
 */
export class Message implements TapMessage {
  readonly kind = 'message' as const;
  readonly direction: 'in' | 'out';
  readonly id: number;
  readonly command: number;
  readonly commandName: string;
  readonly type: 'command' | 'reply';
  readonly size: number;
  readonly flags: number;
  readonly noReply: boolean;
  readonly errno: number;
  readonly fdCount: number;
  readonly forwardedAt: number;
  #fields: PayloadFields | undefined;

  constructor(
    readonly session: number,
    readonly from: Side,
    readonly link: 'main' | 'twin',
    readonly header: Header,
    readonly payload: Buffer,
    readonly fdInfo: readonly FdInfo[],
    readonly timestamp: number,
  ) {
    const h = header;
    this.direction = from === 'client' ? 'out' : 'in';
    this.id = h.id;
    this.command = h.command;
    this.commandName = commandName(h.command);
    this.type = (h.flags & HeaderFlags.TYPE_MASK) === MessageType.REPLY ? 'reply' : 'command';
    this.size = h.size;
    this.flags = h.flags;
    this.noReply = (h.flags & HeaderFlags.NO_REPLY) !== 0;
    this.errno = (h.flags & HeaderFlags.ERROR) !== 0 ? h.error : 0;
    this.fdCount = fdInfo.length;
    this.forwardedAt = traceNow();
  }

  get fields(): PayloadFields {
    return (this.#fields ??= describePayload(this.command, this.type === 'reply', this.payload));
  }
}

