import { filter, type MonoTypeOperatorFunction } from 'rxjs';
import { HeaderFlags, MessageType } from '../protocol/constants.js';
import type { Frame } from '../streams/frame.js';

// Plain bit tests, not pattern matching: these run on every frame of the socket's hot path.
/** Whether a frame is a reply (type bits 1). */
export const isReplyFrame = (f: Frame): boolean => (f.header.flags & HeaderFlags.TYPE_MASK) === MessageType.REPLY;
/** Whether a frame is a command (type bits 0). */
export const isCommandFrame = (f: Frame): boolean => (f.header.flags & HeaderFlags.TYPE_MASK) === MessageType.COMMAND;

/** Keeps the replies of a frame stream (to feed a correlator). */
export const replies = (): MonoTypeOperatorFunction<Frame> => filter((f: Frame) => isReplyFrame(f));

/** Keeps the commands of a frame stream (requests from the peer). */
export const commands = (): MonoTypeOperatorFunction<Frame> => filter((f: Frame) => isCommandFrame(f));

/** Keeps the commands with a given command number. */
export const ofCommand = (...numbers: number[]): MonoTypeOperatorFunction<Frame> =>
  filter((f: Frame) => isCommandFrame(f) && numbers.includes(f.header.command));
