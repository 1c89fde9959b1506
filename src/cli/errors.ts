/**
 * Turning any failure into the one line a user reads (`vfio-user: <what>`) and an exit code.
 * Library errors are told apart by their stable `code`, never by their message text.
 */
import { P, match } from 'ts-pattern';

/** Exit code of a failure at run time (no socket, refused access, a region that is not there...). */
export const EXIT_FAILURE = 1;
/** Exit code of a command line that cannot mean anything (bad number, unknown region name, conflicting options). */
export const EXIT_USAGE = 2;

/** A failure the CLI itself detected; its message is already what the user should read. */
export class CliError extends Error {
  readonly code = 'ERR_VFIO_USER_CLI';
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT_FAILURE) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** A command line that cannot be run as written. */
export const usageError = (message: string): CliError => new CliError(message, EXIT_USAGE);

/** What to print for a failure, and the code to exit with. */
export interface Failure {
  /** One line, without the `vfio-user: ` prefix. */
  readonly message: string;
  readonly exitCode: number;
  /** Whether the failure was not foreseen (its stack is worth printing in debug mode). */
  readonly unexpected: boolean;
}

/** Plain words for the errno names a user meets when connecting or listening. */
const errnoWords: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ECONNREFUSED: 'connection refused (no server is listening there)',
  ENOTSOCK: 'not a socket',
  EADDRINUSE: 'address already in use',
  ENAMETOOLONG: 'path too long for a UNIX socket',
  ENOTDIR: 'a component of the path is not a directory',
  EBADF: 'not an open file descriptor',
  EBUSY: 'the device is in use by another client',
};

/** `permission denied (EACCES)` for an errno name. */
export const errnoText = (name: string): string => (errnoWords[name] ? `${errnoWords[name]} (${name})` : name);

interface Coded {
  readonly code: string;
  readonly message: string;
}

const fail = (message: string, unexpected = false): Failure => ({ message, exitCode: EXIT_FAILURE, unexpected });

const connectMessage = (e: { message: string; path?: unknown; errno?: unknown }): string => {
  const errno = typeof e.errno === 'string' ? e.errno : undefined;
  if (typeof e.path === 'string' && errno && errno !== 'EPROTO' && errno !== 'ETIMEDOUT') {
    return `cannot connect to ${e.path}: ${errnoText(errno)}`;
  }
  return e.message;
};

const codedFailure = (e: Coded & Record<string, unknown>): Failure =>
  match(e.code)
    .with('ERR_VFIO_USER_CLI', () => ({ message: e.message, exitCode: typeof e['exitCode'] === 'number' ? e['exitCode'] : EXIT_FAILURE, unexpected: false }))
    .with('ERR_VFIO_USER_CONNECT', () => fail(connectMessage(e)))
    .with('ERR_VFIO_USER_VERSION', () => fail(`version negotiation failed: ${e.message}`))
    .with('ERR_VFIO_USER_REMOTE', () => fail(`the device refused the request: ${e.message}`))
    .with('ERR_VFIO_USER_TIMEOUT', () => fail(`no reply: ${e.message}`))
    .with('ERR_VFIO_USER_DISCONNECTED', () => fail(`the connection ended: ${e.message}`))
    .with('ERR_VFIO_USER_PROTOCOL', 'ERR_VFIO_USER_MALFORMED', () => fail(`the peer broke the protocol: ${e.message}`))
    .with('ERR_VFIO_USER_LIMIT', () => fail(`over a negotiated limit: ${e.message}`))
    .with('ERR_VFIO_USER_UNSUPPORTED', () => fail(`not supported by the device: ${e.message}`))
    .with('ERR_VFIO_USER_SOCKET_IN_USE', () => fail(e.message))
    .with('ERR_VFIO_USER_NATIVE', () => fail(e.message))
    .with('ERR_VFIO_USER_CLOSED', () => fail(e.message, true))
    .otherwise(() => fail(`unexpected error: ${e.message}`, true));

/** Maps any thrown value to its one-line message and exit code. */
export const describeError = (err: unknown): Failure =>
  match(err)
    .with({ code: P.string, message: P.string }, (e) => codedFailure(e as Coded & Record<string, unknown>))
    .with(P.instanceOf(Error), (e) => fail(`unexpected error: ${e.message}`, true))
    .otherwise((e) => fail(`unexpected error: ${String(e)}`, true));
