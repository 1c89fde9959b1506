/** Which handler serves which command. */
import { match } from 'ts-pattern';
import { Command, commandName } from '../../protocol/constants.js';
import { Errno } from '../../protocol/errno.js';
import { fail } from '../errors.js';
import { regionRead, regionWrite, writeMulti } from './access.js';
import { dmaMap, dmaUnmap } from './dma.js';
import { deviceInfo, irqInfo, regionInfo } from './info.js';
import { setIrqs } from './irqs.js';
import { deviceReset } from './reset.js';
import { deviceFeature } from './feature.js';
import { migDataRead, migDataWrite } from './mig-data.js';
import type { CommandHandler } from './types.js';

const again: CommandHandler = () => fail(Errno.EINVAL, 'VERSION was already negotiated');

/**
 * Commands this server does not implement (GET_REGION_IO_FDS),
 * the server-to-client DMA_READ/DMA_WRITE, and unknown numbers: ENOSYS, as QEMU answers.
 */
const unsupported =
  (command: number): CommandHandler =>
  () =>
    fail(Errno.ENOSYS, `${commandName(command)} is not supported`);

/** A command's handler and the most fds it may carry (more is EINVAL). */
export interface Route {
  readonly handler: CommandHandler;
  readonly maxFds: number;
}

const plain = (handler: CommandHandler): Route => ({ handler, maxFds: 0 });

/**
 * The route of a command number. SET_IRQS may carry up to our max_msg_fds (it checks the count
 * against its vectors itself); an unsupported command is ENOSYS whatever came with it.
 */
export const route = (command: number, maxMsgFds: number): Route =>
  match(command)
    .with(Command.VERSION, () => plain(again))
    .with(Command.DMA_MAP, () => ({ handler: dmaMap, maxFds: 1 }))
    .with(Command.DMA_UNMAP, () => plain(dmaUnmap))
    .with(Command.DEVICE_GET_INFO, () => plain(deviceInfo))
    .with(Command.DEVICE_GET_REGION_INFO, () => plain(regionInfo))
    .with(Command.DEVICE_GET_IRQ_INFO, () => plain(irqInfo))
    .with(Command.DEVICE_SET_IRQS, () => ({ handler: setIrqs, maxFds: maxMsgFds }))
    .with(Command.REGION_READ, () => plain(regionRead))
    .with(Command.REGION_WRITE, () => plain(regionWrite))
    .with(Command.DEVICE_RESET, () => plain(deviceReset))
    .with(Command.REGION_WRITE_MULTI, () => plain(writeMulti))
    .with(Command.DEVICE_FEATURE, () => plain(deviceFeature))
    .with(Command.MIG_DATA_READ, () => plain(migDataRead))
    .with(Command.MIG_DATA_WRITE, () => plain(migDataWrite))
    .otherwise(() => ({ handler: unsupported(command), maxFds: Infinity }));
