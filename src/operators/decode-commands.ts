import { map, type OperatorFunction } from 'rxjs';
import { match } from 'ts-pattern';
import * as P from '../protocol/index.js';
import type { Frame } from '../protocol/frame.js';

/** Every command's decoded request body, by command name. */
export interface CommandBodies {
  readonly VERSION: P.VersionPayload;
  readonly DMA_MAP: P.DmaMapRequest;
  readonly DMA_UNMAP: P.DmaUnmapRequest;
  readonly DEVICE_GET_INFO: P.DeviceInfoRequest;
  readonly DEVICE_GET_REGION_INFO: P.RegionInfoRequest;
  readonly DEVICE_GET_REGION_IO_FDS: P.IoFdsRequest;
  readonly DEVICE_GET_IRQ_INFO: P.IrqInfoRequest;
  readonly DEVICE_SET_IRQS: P.SetIrqsRequest;
  readonly REGION_READ: P.RegionAccess;
  readonly REGION_WRITE: P.RegionAccess;
  readonly DMA_READ: P.DmaAccess;
  readonly DMA_WRITE: P.DmaAccess;
  readonly DEVICE_RESET: void;
  readonly REGION_WRITE_MULTI: P.WriteMultiRequest;
  readonly DEVICE_FEATURE: P.DeviceFeaturePayload;
  readonly MIG_DATA_READ: P.MigDataReadRequest;
  readonly MIG_DATA_WRITE: P.MigDataWrite;
}

/** A decoded command: its name, body and the frame it came in (which still owns the fds). */
export type DecodedCommand = {
  [K in keyof CommandBodies]: { readonly kind: 'command'; readonly name: K; readonly body: CommandBodies[K]; readonly frame: Frame };
}[keyof CommandBodies];

/** A command number this implementation does not know: kept apart, to be answered ENOSYS. */
export interface UnknownCommand {
  readonly kind: 'unknown';
  readonly frame: Frame;
}

/** A known command whose payload does not decode: that message fails alone (its errno is in the error). */
export interface MalformedCommand {
  readonly kind: 'malformed';
  readonly frame: Frame;
  readonly error: P.MalformedMessageError;
}

/** What decodeCommands emits for each command frame. */
export type CommandMessage = DecodedCommand | UnknownCommand | MalformedCommand;

/** Limits a decoder enforces on what the peer sends (our advertised max_data_xfer_size). */
export interface DecodeLimits {
  readonly maxDataXferSize?: number;
}

const body = (frame: Frame, limits: DecodeLimits): DecodedCommand | UnknownCommand => {
  const p = frame.payload;
  const xfer = { maxDataXferSize: limits.maxDataXferSize };
  const C = P.Command;
  const as = <K extends keyof CommandBodies>(name: K, value: CommandBodies[K]) =>
    ({ kind: 'command', name, body: value, frame }) as DecodedCommand;
  return match(frame.header.command)
    .with(C.VERSION, () => as('VERSION', P.decodeVersionRequest(p)))
    .with(C.DMA_MAP, () => as('DMA_MAP', P.decodeDmaMapRequest(p)))
    .with(C.DMA_UNMAP, () => as('DMA_UNMAP', P.decodeDmaUnmapRequest(p)))
    .with(C.DEVICE_GET_INFO, () => as('DEVICE_GET_INFO', P.decodeDeviceInfoRequest(p)))
    .with(C.DEVICE_GET_REGION_INFO, () => as('DEVICE_GET_REGION_INFO', P.decodeRegionInfoRequest(p)))
    .with(C.DEVICE_GET_REGION_IO_FDS, () => as('DEVICE_GET_REGION_IO_FDS', P.decodeIoFdsRequest(p)))
    .with(C.DEVICE_GET_IRQ_INFO, () => as('DEVICE_GET_IRQ_INFO', P.decodeIrqInfoRequest(p)))
    .with(C.DEVICE_SET_IRQS, () => as('DEVICE_SET_IRQS', P.decodeSetIrqsRequest(p)))
    .with(C.REGION_READ, () => as('REGION_READ', P.decodeRegionReadRequest(p, xfer)))
    .with(C.REGION_WRITE, () => as('REGION_WRITE', P.decodeRegionWriteRequest(p, xfer)))
    .with(C.DMA_READ, () => as('DMA_READ', P.decodeDmaReadRequest(p, xfer)))
    .with(C.DMA_WRITE, () => as('DMA_WRITE', P.decodeDmaWriteRequest(p, xfer)))
    .with(C.DEVICE_RESET, () => as('DEVICE_RESET', P.decodeDeviceResetRequest(p)))
    .with(C.REGION_WRITE_MULTI, () => as('REGION_WRITE_MULTI', P.decodeWriteMultiRequest(p)))
    .with(C.DEVICE_FEATURE, () => as('DEVICE_FEATURE', P.decodeDeviceFeatureRequest(p)))
    .with(C.MIG_DATA_READ, () => as('MIG_DATA_READ', P.decodeMigDataReadRequest(p, xfer)))
    .with(C.MIG_DATA_WRITE, () => as('MIG_DATA_WRITE', P.decodeMigDataWriteRequest(p, xfer)))
    .otherwise((): UnknownCommand => ({ kind: 'unknown', frame }));
};

/** Decodes one command frame into a typed message; never throws. */
export const decodeCommand = (frame: Frame, limits: DecodeLimits = {}): CommandMessage => {
  try {
    return body(frame, limits);
  } catch (error) {
    if (error instanceof P.MalformedMessageError) return { kind: 'malformed', frame, error };
    throw error;
  }
};

/**
 * Decodes the peer's command frames into typed messages, routed with ts-pattern: each known
 * command with its decoded body, unknown command numbers kept apart, and malformed payloads as
 * their own kind carrying the errno to answer, so one bad message fails alone.
 *
 * ```
 * frames:   --R--x--?--
 * messages: --c--m--u--   (c: command, m: malformed, u: unknown)
 * ```
 */
export const decodeCommands = (limits: DecodeLimits = {}): OperatorFunction<Frame, CommandMessage> =>
  map((frame) => decodeCommand(frame, limits));
