/** The demo's driver for the dma-engine sample: what a guest driver would do, through the client. */
import type { Device, Region } from '../../client/index.js';
import { MsixFlags, MsixReg, PciCommand, PciConfig } from '../../pci/index.js';
import { DmaReg, DmaStatus } from '../../samples/index.js';
import { PciRegion, errnoName } from '../../protocol/index.js';
import { CliError } from '../errors.js';

const u16 = (v: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return b;
};

const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};

// Replies are awaited so that an error surfaces at the register that caused it.
const set32 = (bar: Region, offset: number, value: number): Promise<void> => bar.write(offset, u32(value), { posted: false });

/** Turns on memory decoding and bus mastering, and MSI-X in its capability, as a guest driver does first. */
export const enableMsix = async (dev: Device): Promise<void> => {
  const config = dev.region(PciRegion.CONFIG);
  const command = (await config.read(PciConfig.COMMAND, 2)).readUInt16LE();
  await config.write(PciConfig.COMMAND, u16(command | PciCommand.MEMORY | PciCommand.MASTER));
  const cap = dev.config.capabilities.find((c) => c.kind === 'msix');
  if (!cap) throw new CliError('the device has no MSI-X capability');
  const control = (await config.read(cap.offset + MsixReg.FLAGS, 2)).readUInt16LE();
  await config.write(cap.offset + MsixReg.FLAGS, u16((control | MsixFlags.ENABLE) & ~MsixFlags.MASKALL));
  await dev.enableInterrupts('msix');
};

/** One copy for the engine to do. */
export interface CopyJob {
  readonly src: number;
  readonly dst: number;
  readonly length: number;
  readonly vector: number;
}

/** Programs the registers and rings the doorbell. */
export const startCopy = async (dev: Device, job: CopyJob): Promise<void> => {
  const bar = dev.region(0);
  await set32(bar, DmaReg.SRC_LO, job.src % 2 ** 32);
  await set32(bar, DmaReg.SRC_HI, Math.floor(job.src / 2 ** 32));
  await set32(bar, DmaReg.DST_LO, job.dst % 2 ** 32);
  await set32(bar, DmaReg.DST_HI, Math.floor(job.dst / 2 ** 32));
  await set32(bar, DmaReg.LEN, job.length);
  await set32(bar, DmaReg.VECTOR, job.vector);
  await set32(bar, DmaReg.DOORBELL, 1);
};

/** The engine's state after a copy. */
export interface EngineStatus {
  readonly status: number;
  readonly completed: number;
}

/** Reads STATUS and COMPLETED; a copy that ended in ERROR becomes a CliError naming its errno. */
export const finishedCopy = async (dev: Device): Promise<EngineStatus> => {
  const regs = await dev.region(0).read(DmaReg.STATUS, 12);
  const status = regs.readUInt32LE(0);
  if (status & DmaStatus.ERROR) throw new CliError(`the DMA engine reports an error: ${errnoName(regs.readUInt32LE(4))}`);
  if ((status & DmaStatus.DONE) === 0) throw new CliError(`the DMA engine is not done after its interrupt (STATUS 0x${status.toString(16)})`);
  return { status, completed: regs.readUInt32LE(8) };
};
