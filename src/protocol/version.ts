import { validateVersionJson } from './capabilities.js';
import { reader } from './reader.js';
import { putU16 } from './writer.js';

/** VERSION request and reply payload: version numbers and the optional capabilities JSON. */
export interface VersionPayload {
  readonly major: number;
  readonly minor: number;
  /** The parsed JSON document (`{"capabilities": {...}}`), absent when none was sent. */
  readonly json?: object;
}

const CMD = 'VERSION';
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Encodes a VERSION payload; the JSON text is followed by the NUL both parsers require. */
export const encodeVersion = (v: VersionPayload): Buffer => {
  const text = v.json === undefined ? undefined : Buffer.from(`${JSON.stringify(v.json)}\0`, 'utf8');
  const buf = Buffer.alloc(4 + (text?.length ?? 0));
  putU16(buf, 0, v.major, 'major');
  putU16(buf, 2, v.minor, 'minor');
  text?.copy(buf, 4);
  return buf;
};

/**
 * Decodes a VERSION payload: JSON must be NUL-terminated UTF-8 of the documented shape
 * (wrongly typed capability values included); any fault is field 'json'.
 */
export const decodeVersion = (payload: Buffer): VersionPayload => {
  const r = reader(CMD, payload).need(4);
  const major = r.u16(0, 'major');
  const minor = r.u16(2, 'minor');
  if (payload.length === 4) return { major, minor };
  if (payload[payload.length - 1] !== 0) r.fail('json', 'JSON text is not terminated by a NUL byte');
  let text: string;
  try {
    text = utf8.decode(payload.subarray(4, payload.length - 1));
  } catch {
    return r.fail('json', 'JSON text is not valid UTF-8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return r.fail('json', `invalid JSON: ${(e as Error).message}`);
  }
  return { major, minor, json: validateVersionJson(parsed, 'json') };
};

/** Encodes the client's VERSION proposal. */
export const encodeVersionRequest = encodeVersion;
/** Decodes the client's VERSION proposal. */
export const decodeVersionRequest = decodeVersion;
/** Encodes the server's VERSION answer. */
export const encodeVersionReply = encodeVersion;
/** Decodes the server's VERSION answer. */
export const decodeVersionReply = decodeVersion;
