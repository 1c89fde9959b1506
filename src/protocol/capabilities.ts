import { z } from 'zod';
import { CapabilityDefaults } from './constants.js';
import { MalformedMessageError } from './errors.js';

const count = z.int().nonnegative();

/** Schema of the `capabilities` object of the VERSION JSON; unknown keys pass through. */
export const capabilitiesSchema = z.looseObject({
  max_msg_fds: count.optional(),
  max_data_xfer_size: count.optional(),
  max_dma_maps: count.optional(),
  pgsizes: count.optional(),
  twin_socket: z.looseObject({ supported: z.boolean().optional(), fd_index: z.int().optional() }).optional(),
  write_multiple: z.boolean().optional(),
  migration: z.looseObject({ pgsize: count.optional(), max_bitmap_size: count.optional() }).optional(),
});

/** Schema of the whole VERSION JSON document: `{"capabilities": {...}}`, every key optional. */
export const versionJsonSchema = z.looseObject({ capabilities: capabilitiesSchema.optional() });

/** The `capabilities` object as it travels. */
export type CapabilitiesJson = z.infer<typeof capabilitiesSchema>;
/** The VERSION JSON document as it travels. */
export type VersionJson = z.infer<typeof versionJsonSchema>;

/** The twin-socket capability. */
export interface TwinSocketCapability {
  readonly supported: boolean;
  readonly fd_index?: number;
}

/** The legacy v1 migration capability (accepted and reported, not used). */
export interface MigrationCapability {
  readonly pgsize?: number;
  readonly max_bitmap_size?: number;
}

/** A peer's capabilities with the spec's defaults filled in. */
export interface NegotiatedCapabilities {
  readonly max_msg_fds: number;
  readonly max_data_xfer_size: number;
  readonly max_dma_maps: number;
  readonly pgsizes: number;
  readonly twin_socket: TwinSocketCapability;
  readonly write_multiple: boolean;
  readonly migration?: MigrationCapability;
  /** Dotted paths of keys this implementation does not know (e.g. `capabilities.foo`), for a warning. */
  readonly unknownKeys: readonly string[];
  /** The limits the peer did not send, whose values above are the spec's defaults. */
  readonly defaulted: readonly DefaultedKey[];
}

/** A capability that has a default in the spec. */
export type DefaultedKey = 'max_msg_fds' | 'max_data_xfer_size' | 'max_dma_maps' | 'pgsizes' | 'twin_socket' | 'write_multiple';

const DEFAULTED_KEYS: readonly DefaultedKey[] = ['max_msg_fds', 'max_data_xfer_size', 'max_dma_maps', 'pgsizes', 'twin_socket', 'write_multiple'];

/** What a side advertises: any subset of the capability keys. */
export interface CapabilitiesInput {
  readonly max_msg_fds?: number;
  readonly max_data_xfer_size?: number;
  readonly max_dma_maps?: number;
  readonly pgsizes?: number;
  readonly twin_socket?: { readonly supported?: boolean; readonly fd_index?: number };
  readonly write_multiple?: boolean;
  readonly migration?: MigrationCapability;
}

const knownKeys: Readonly<Record<string, readonly string[]>> = {
  '': ['capabilities'],
  capabilities: ['max_msg_fds', 'max_data_xfer_size', 'max_dma_maps', 'pgsizes', 'twin_socket', 'write_multiple', 'migration'],
  'capabilities.twin_socket': ['supported', 'fd_index'],
  'capabilities.migration': ['pgsize', 'max_bitmap_size'],
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const findUnknownKeys = (value: unknown, path = ''): string[] => {
  const known = knownKeys[path];
  if (!known || !isObject(value)) return [];
  return Object.entries(value).flatMap(([key, child]) => {
    const childPath = path ? `${path}.${key}` : key;
    return known.includes(key) ? findUnknownKeys(child, childPath) : [childPath];
  });
};

/**
 * Validates a parsed VERSION JSON document. A wrongly typed value fails with a
 * MalformedMessageError whose field is `fieldOverride`, or else the key's dotted path.
 */
export const validateVersionJson = (json: unknown, fieldOverride?: string): VersionJson => {
  const result = versionJsonSchema.safeParse(json);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue ? issue.path.map(String).join('.') : '';
  const where = path === '' ? 'json' : path;
  const message = issue?.message ?? 'invalid';
  if (fieldOverride === undefined) throw new MalformedMessageError('VERSION', where, message);
  throw new MalformedMessageError('VERSION', fieldOverride, `${where}: ${message}`);
};

/** Reads a peer's VERSION JSON (or its absence) into capabilities with defaults filled in. */
export const parseCapabilities = (json: unknown): NegotiatedCapabilities => {
  const caps = json === undefined ? {} : (validateVersionJson(json).capabilities ?? {});
  const twin = caps.twin_socket;
  return {
    max_msg_fds: caps.max_msg_fds ?? CapabilityDefaults.max_msg_fds,
    max_data_xfer_size: caps.max_data_xfer_size ?? CapabilityDefaults.max_data_xfer_size,
    max_dma_maps: caps.max_dma_maps ?? CapabilityDefaults.max_dma_maps,
    pgsizes: caps.pgsizes ?? CapabilityDefaults.pgsizes,
    twin_socket: twin?.fd_index === undefined
      ? { supported: twin?.supported ?? false }
      : { supported: twin.supported ?? false, fd_index: twin.fd_index },
    write_multiple: caps.write_multiple ?? CapabilityDefaults.write_multiple,
    ...(caps.migration ? { migration: pickMigration(caps.migration) } : {}),
    unknownKeys: findUnknownKeys(json),
    defaulted: DEFAULTED_KEYS.filter((k) => caps[k] === undefined),
  };
};

const pickMigration = (m: MigrationCapability): MigrationCapability => ({
  ...(m.pgsize !== undefined ? { pgsize: m.pgsize } : {}),
  ...(m.max_bitmap_size !== undefined ? { max_bitmap_size: m.max_bitmap_size } : {}),
});

const capabilityOrder = [
  'max_msg_fds', 'max_data_xfer_size', 'max_dma_maps', 'pgsizes', 'twin_socket', 'write_multiple', 'migration',
] as const;

/**
 * Builds the compact `{"capabilities": {...}}` document to send, holding only the keys given
 * (the QEMU client sizes its reply buffer from its own request, so a server keeps this short).
 */
export const capabilitiesJson = (caps: CapabilitiesInput): { capabilities: CapabilitiesJson } => {
  const out: Record<string, unknown> = {};
  for (const key of capabilityOrder) {
    const value = caps[key];
    if (value !== undefined) out[key] = isObject(value) ? dropUndefined(value) : value;
  }
  const result = capabilitiesSchema.safeParse(out);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new RangeError(`capabilities.${issue?.path.map(String).join('.')}: ${issue?.message}`);
  }
  return { capabilities: result.data };
};

const dropUndefined = (o: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
