import { Command, type CommandNumber, isKnownCommand } from './constants.js';

/** Which side sends a command (its reply goes the other way). */
export type CommandDirection = 'client-to-server' | 'server-to-client';

/** Direction of every command: only DMA_READ and DMA_WRITE go from server to client. */
export const commandDirection: Readonly<Record<CommandNumber, CommandDirection>> = {
  [Command.VERSION]: 'client-to-server',
  [Command.DMA_MAP]: 'client-to-server',
  [Command.DMA_UNMAP]: 'client-to-server',
  [Command.DEVICE_GET_INFO]: 'client-to-server',
  [Command.DEVICE_GET_REGION_INFO]: 'client-to-server',
  [Command.DEVICE_GET_REGION_IO_FDS]: 'client-to-server',
  [Command.DEVICE_GET_IRQ_INFO]: 'client-to-server',
  [Command.DEVICE_SET_IRQS]: 'client-to-server',
  [Command.REGION_READ]: 'client-to-server',
  [Command.REGION_WRITE]: 'client-to-server',
  [Command.DMA_READ]: 'server-to-client',
  [Command.DMA_WRITE]: 'server-to-client',
  [Command.DEVICE_RESET]: 'client-to-server',
  [Command.REGION_WRITE_MULTI]: 'client-to-server',
  [Command.DEVICE_FEATURE]: 'client-to-server',
  [Command.MIG_DATA_READ]: 'client-to-server',
  [Command.MIG_DATA_WRITE]: 'client-to-server',
};

/** Whether a client may send this command number (false for unknown commands). */
export const isClientCommand = (command: number): boolean =>
  isKnownCommand(command) && commandDirection[command] === 'client-to-server';

/** Whether a server may send this command number (false for unknown commands). */
export const isServerCommand = (command: number): boolean =>
  isKnownCommand(command) && commandDirection[command] === 'server-to-client';
