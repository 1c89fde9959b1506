import { filter, type MonoTypeOperatorFunction } from 'rxjs';
import { isCommandFrame, isReplyFrame, type Frame } from '../protocol/frame.js';

export { isCommandFrame, isReplyFrame };

/** Keeps the replies of a frame stream (to feed a correlator). */
export const replies = (): MonoTypeOperatorFunction<Frame> => filter((f: Frame) => isReplyFrame(f));

/** Keeps the commands of a frame stream (requests from the peer). */
export const commands = (): MonoTypeOperatorFunction<Frame> => filter((f: Frame) => isCommandFrame(f));

/** Keeps the commands with a given command number. */
export const ofCommand = (...numbers: number[]): MonoTypeOperatorFunction<Frame> =>
  filter((f: Frame) => isCommandFrame(f) && numbers.includes(f.header.command));
