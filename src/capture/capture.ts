/** Traced messages into a pcapng capture as they come, and a capture back into traced messages. */
import { defer, tap, type MonoTypeOperatorFunction } from 'rxjs';
import { HEADER_SIZE } from '../protocol/constants.js';
import { CaptureFormatError, ProtocolError } from '../protocol/errors.js';
import { decodeHeader, encodeHeader, type Header } from '../protocol/header.js';
import { traceOf, type TraceEvent } from '../wire/trace.js';
import { encodeEnhancedPacket, encodeInterface, encodeSectionHeader } from './pcapng.js';
import type { Capture } from './read-pcapng.js';

/** A traced message as a capture takes it: the tap's carry their conversation and raw header. */
export type CapturableEvent = TraceEvent & { readonly session?: number; readonly header?: Header };

/** A message read back from a capture: a TraceEvent with its conversation. */
export type CapturedMessage = TraceEvent & { readonly session: number; readonly link: 'main' | 'twin' };

/** The message's bytes: its header exactly (the raw one when the event has it) and its payload. */
const bytesOf = (e: CapturableEvent): Buffer[] => {
  const header = encodeHeader(e.header ?? { id: e.id, command: e.command, size: e.size, flags: e.flags, error: e.errno });
  return e.payload && e.payload.length > 0 ? [header, e.payload] : [header];
};

/**
 * A function that writes each message it is given as pcapng blocks through `write`, starting with
 * the section header, and an interface block the first time a conversation's socket appears.
 */
export const captureWriter = (write: (block: Buffer) => void): ((e: CapturableEvent) => void) => {
  const interfaces = new Map<string, number>();
  write(encodeSectionHeader());
  return (e) => {
    const name = `session ${e.session ?? 1} ${e.link ?? 'main'}`;
    let interfaceId = interfaces.get(name);
    if (interfaceId === undefined) {
      interfaceId = interfaces.size;
      interfaces.set(name, interfaceId);
      write(encodeInterface(name));
    }
    // Floored, so the millisecond a trace line shows is the same read back.
    const timestampUs = BigInt(Math.floor(e.timestamp * 1000));
    write(encodeEnhancedPacket({ interfaceId, timestampUs, data: bytesOf(e), direction: e.direction, fdInfo: e.fdInfo ?? [] }));
  };
};

/** Writes every message that passes through to a capture (see captureWriter). */
export const captureTo = <T extends CapturableEvent>(write: (block: Buffer) => void): MonoTypeOperatorFunction<T> => (source) =>
  defer(() => {
    const writeMessage = captureWriter(write);
    return source.pipe(tap((e: T) => writeMessage(e)));
  });

const NAME = /^session (\d+) (main|twin)$/;

/** The messages of a capture as traced messages (a packet that is no vfio-user message is a CaptureFormatError). */
export const capturedMessages = (capture: Capture): CapturedMessage[] =>
  capture.packets.map((p, i) => {
    const m = NAME.exec(capture.interfaces[p.interfaceId]?.name ?? '');
    let header: Header;
    try {
      header = decodeHeader(p.data);
    } catch (err) {
      throw new CaptureFormatError(`packet ${i + 1} is not a vfio-user message: ${(err as ProtocolError).message}`, { cause: err });
    }
    if (header.size !== p.data.length) throw new CaptureFormatError(`packet ${i + 1}: msg_size ${header.size} but ${p.data.length} bytes captured`);
    const e = traceOf(p.direction, header, p.fdInfo.length, p.data.subarray(HEADER_SIZE));
    return {
      ...e,
      timestamp: Number(p.timestampUs) / 1000,
      session: m ? Number(m[1]) : 1,
      link: m?.[2] === 'twin' ? 'twin' : 'main',
      ...(p.fdInfo.length > 0 ? { fdInfo: p.fdInfo } : {}),
    };
  });
