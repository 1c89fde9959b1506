/** Pipeable operators over vfio-user streams: the ones production pipes through, and the ones users compose. */
export { replies, commands, ofCommand } from './routeFrames.js';
export { decodeCommand, decodeCommands, type CommandBodies, type CommandMessage, type DecodedCommand, type DecodeLimits, type MalformedCommand, type UnknownCommand } from './decodeCommands.js';
export { chunkTransfers, splitTransfer, type Transfer } from './chunkTransfers.js';
export { dmaTransactions, minPageSize, type DmaBatch, type DmaLimits, type DmaOp } from './dmaTransactions.js';
export { foldInOrder, type FoldStep } from './foldInOrder.js';
export { writeMulti, writeHolder, isCoalescible, type WriteHolder, type WriteMultiOptions } from './writeMulti.js';
