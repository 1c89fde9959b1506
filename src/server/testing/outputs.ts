/** What a device under test produced, as plain records that marble assertions can compare. */
import { Command, HeaderFlags, MessageType, commandName } from '../../protocol/constants.js';
import { decodeDmaReadRequest, decodeDmaWriteRequest, encodeDmaReadReply, encodeDmaWriteReply } from '../../protocol/dma-access.js';
import { Errno, errnoName } from '../../protocol/errno.js';
import type { Frame, OutgoingMessage } from '../../protocol/frame.js';
import { joinPayload, replyFrame } from '../../wire/mock.js';
import type { IrqType } from '../types.js';

/** One observable effect of the device: a reply, an interrupt, or a DMA request to the client. */
export type DeviceOutput =
  /** A successful reply; `data` is the bytes read, for REGION_READ. */
  | { readonly kind: 'reply'; readonly command: string; readonly data?: string }
  /** An error reply, with the errno's name. */
  | { readonly kind: 'error'; readonly command: string; readonly errno: string }
  /** An eventfd signalled: a vector fired, or (with `action`) its mask state changed. */
  | { readonly kind: 'irq'; readonly type: IrqType; readonly vector: number; readonly action?: 'mask' | 'unmask' }
  | { readonly kind: 'dma-read'; readonly address: number; readonly count: number }
  | { readonly kind: 'dma-write'; readonly address: number; readonly data: string };

const isReply = (m: OutgoingMessage): boolean => (m.flags & HeaderFlags.TYPE_MASK) === MessageType.REPLY;

/** The output for a reply the server sent, or undefined for anything else. */
export const replyOutput = (m: OutgoingMessage): DeviceOutput | undefined => {
  if (!isReply(m)) return undefined;
  const command = commandName(m.command);
  if (m.flags & HeaderFlags.ERROR) return { kind: 'error', command, errno: errnoName(m.error ?? 0) };
  if (m.command !== Command.REGION_READ) return { kind: 'reply', command };
  return { kind: 'reply', command, data: joinPayload(m.payload).subarray(16).toString('hex') };
};

/** How the mock client answers DMA_WRITE: header only (as QEMU) or the 16-byte echo (as libvfio-user expects). */
export type DmaWriteReply = 'header' | 'full';

/**
 * Answers a server-to-client DMA_READ or DMA_WRITE from `memory` (guest RAM from IOVA 0), as a
 * client would; bytes outside `memory` get EFAULT. Undefined for any other message.
 */
export const answerDma = (m: OutgoingMessage, memory: Buffer, writeReply: DmaWriteReply): { reply: Frame; output: DeviceOutput } | undefined => {
  if (isReply(m) || (m.command !== Command.DMA_READ && m.command !== Command.DMA_WRITE)) return undefined;
  const payload = joinPayload(m.payload);
  if (m.command === Command.DMA_READ) {
    const { address, count } = decodeDmaReadRequest(payload);
    const output: DeviceOutput = { kind: 'dma-read', address, count };
    if (address + count > memory.length) return { reply: replyFrame(m.id, m.command, undefined, Errno.EFAULT), output };
    const data = Buffer.from(memory.subarray(address, address + count));
    return { reply: replyFrame(m.id, m.command, Buffer.from(encodeDmaReadReply({ address, data }))), output };
  }
  const { address, count, data } = decodeDmaWriteRequest(payload);
  const output: DeviceOutput = { kind: 'dma-write', address, data: (data ?? Buffer.alloc(0)).toString('hex') };
  if (address + count > memory.length) return { reply: replyFrame(m.id, m.command, undefined, Errno.EFAULT), output };
  data?.copy(memory, address);
  const body = writeReply === 'full' ? encodeDmaWriteReply({ address, count }) : Buffer.alloc(0);
  return { reply: replyFrame(m.id, m.command, Buffer.from(body)), output };
};
