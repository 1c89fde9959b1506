import { errnoName } from './errno.js';

/** Stable codes of every error this library raises. */
export type VfioUserErrorCode =
  | 'ERR_VFIO_USER_PROTOCOL'
  | 'ERR_VFIO_USER_MALFORMED'
  | 'ERR_VFIO_USER_REMOTE'
  | 'ERR_VFIO_USER_TIMEOUT'
  | 'ERR_VFIO_USER_DISCONNECTED'
  | 'ERR_VFIO_USER_CONNECT'
  | 'ERR_VFIO_USER_VERSION'
  | 'ERR_VFIO_USER_LIMIT'
  | 'ERR_VFIO_USER_NATIVE'
  | 'ERR_VFIO_USER_CLOSED'
  | 'ERR_VFIO_USER_UNSUPPORTED'
  | 'ERR_VFIO_USER_CAPTURE';

/** Where in a message a fault was found. */
export interface FaultSite {
  /** Command name (e.g. `REGION_READ`). */
  readonly command?: string;
  /** Field name as in the spec (e.g. `argsz`, `count`). */
  readonly field?: string;
}

/** Base class: every error of this library carries a stable `code`. */
export abstract class VfioUserError extends Error {
  abstract readonly code: VfioUserErrorCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The byte stream cannot be trusted any more (bad header, oversize frame, truncated fds): fatal. */
export class ProtocolError extends VfioUserError {
  readonly code = 'ERR_VFIO_USER_PROTOCOL' as const;
  readonly command: string | undefined;
  readonly field: string | undefined;
  constructor(message: string, site: FaultSite = {}, options?: { cause?: unknown }) {
    super(site.command ? `${site.command}: ${message}` : message, options);
    this.command = site.command;
    this.field = site.field;
  }
}

/** One message is malformed (short payload, bad field); the stream itself is still fine. */
export class MalformedMessageError extends VfioUserError {
  readonly code = 'ERR_VFIO_USER_MALFORMED' as const;
  readonly command: string;
  readonly field: string;
  /** errno a server answers this with (EINVAL unless a more precise one applies). */
  readonly errno: number;
  constructor(command: string, field: string, message: string, errno = 22) {
    super(`${command}: ${field}: ${message}`);
    this.command = command;
    this.field = field;
    this.errno = errno;
  }
}

/** The peer answered a request with an error reply. */
export class RemoteError extends VfioUserError {
  readonly code = 'ERR_VFIO_USER_REMOTE' as const;
  readonly errno: number;
  readonly errnoName: string;
  readonly command: string;
  constructor(command: string, errno: number) {
    super(`${command} failed: ${errnoName(errno)} (${errno})`);
    this.command = command;
    this.errno = errno;
    this.errnoName = errnoName(errno);
  }
}

/** No reply came within the request's timeout. */
export class ReplyTimeoutError extends VfioUserError {
  readonly code = 'ERR_VFIO_USER_TIMEOUT' as const;
  readonly command: string;
  readonly id: number;
  readonly timeoutMs: number;
  constructor(command: string, id: number, timeoutMs: number) {
    super(`${command} (id 0x${id.toString(16)}) got no reply within ${timeoutMs} ms`);
    this.command = command;
    this.id = id;
    this.timeoutMs = timeoutMs;
  }
}

/** The connection ended (EOF, socket error, or a fatal protocol error given as `cause`). */
export class DisconnectedError extends VfioUserError {
  readonly code = 'ERR_VFIO_USER_DISCONNECTED' as const;
}

/** Connecting failed: no socket, refused, permission denied, or not a vfio-user peer. */
export class ConnectError extends VfioUserError {
  readonly code = 'ERR_VFIO_USER_CONNECT' as const;
  readonly path: string | undefined;
  readonly errno: string | undefined;
  constructor(message: string, info: { path?: string; errno?: string } = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.path = info.path;
    this.errno = info.errno;
  }
}

/** Version negotiation failed (incompatible major/minor, bad capabilities). */
export class VersionError extends VfioUserError {
  readonly code = 'ERR_VFIO_USER_VERSION' as const;
}

/** A negotiated limit would be broken (too many fds, too large a transfer, too many maps). */
export class LimitError extends VfioUserError {
  readonly code = 'ERR_VFIO_USER_LIMIT' as const;
}

/** A native call failed (errno from the OS). */
export class NativeError extends VfioUserError {
  readonly code = 'ERR_VFIO_USER_NATIVE' as const;
  readonly syscall: string;
  readonly errno: number;
  constructor(syscall: string, errno: number, message?: string) {
    super(`${syscall}: ${message ?? errnoName(errno)}`);
    this.syscall = syscall;
    this.errno = errno;
  }
}

/** The object was used after close(). */
export class ClosedError extends VfioUserError {
  readonly code = 'ERR_VFIO_USER_CLOSED' as const;
}

/** The peer does not offer what was asked (e.g. DEVICE_RESET without the RESET flag, an IRQ type with no vectors). */
export class UnsupportedError extends VfioUserError {
  readonly code = 'ERR_VFIO_USER_UNSUPPORTED' as const;
}

/** A capture file is not a pcapng file of vfio-user messages, or is damaged. */
export class CaptureFormatError extends VfioUserError {
  readonly code = 'ERR_VFIO_USER_CAPTURE' as const;
}
