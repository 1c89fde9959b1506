/** Pipeable operators over vfio-user streams: the ones production pipes through, and the ones users compose. */
export { replies, commands, ofCommand } from './route-frames.js';
export { decodeCommand, decodeCommands, type CommandBodies, type CommandMessage, type DecodedCommand, type DecodeLimits, type MalformedCommand, type UnknownCommand } from './decode-commands.js';
export { chunkTransfers, splitTransfer, type Transfer } from './chunk-transfers.js';
export { dmaTransactions, minPageSize, type DmaBatch, type DmaLimits, type DmaOp } from './dma-transactions.js';
export { foldInOrder, type FoldStep } from './fold-in-order.js';
export { writeMulti, writeHolder, isCoalescible, type WriteHolder, type WriteMultiOptions } from './write-multi.js';
export { selectMessages, type MessageSelection } from './select-messages.js';
