import { filter, type MonoTypeOperatorFunction } from 'rxjs';
import { P, isMatching } from 'ts-pattern';
import { HeaderFlags, MessageType } from '../protocol/constants.js';
import type { Frame } from '../streams/frame.js';

const typeIs = (type: number) =>
  P.when((flags: unknown) => typeof flags === 'number' && (flags & HeaderFlags.TYPE_MASK) === type);

/** Whether a frame is a reply (type bits 1). */
export const isReplyFrame = isMatching({ header: { flags: typeIs(MessageType.REPLY) } });
/** Whether a frame is a command (type bits 0). */
export const isCommandFrame = isMatching({ header: { flags: typeIs(MessageType.COMMAND) } });

/** Keeps the replies of a frame stream (to feed a correlator). */
export const replies = (): MonoTypeOperatorFunction<Frame> => filter((f: Frame) => isReplyFrame(f));

/** Keeps the commands of a frame stream (requests from the peer). */
export const commands = (): MonoTypeOperatorFunction<Frame> => filter((f: Frame) => isCommandFrame(f));

/** Keeps the commands with a given command number. */
export const ofCommand = (...numbers: number[]): MonoTypeOperatorFunction<Frame> =>
  filter((f: Frame) => isCommandFrame(f) && numbers.includes(f.header.command));
