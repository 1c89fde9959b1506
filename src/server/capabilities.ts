/**
 * Capability builders for `pciDevice({ capabilities, extendedCapabilities })`: each returns the
 * PCI emulation's description of one capability (msix() and msixBar() are in definition.ts).
 */
import type { DsnExtCapSpec, MsiCapSpec, PcieCapSpec, PcieDeviceType, PmCapSpec, VendorCapSpec, VendorExtCapSpec } from '../pci/index.js';

/** Power Management (PM 1.2): D0 and D3hot, plus the optional states and PME given. */
export const pm = (options: Omit<PmCapSpec, 'kind'> = {}): PmCapSpec => ({ kind: 'pm', ...options });

/** MSI with `vectors` vectors (1..32, a power of two), 64-bit addresses, optionally per-vector masking. */
export const msi = (vectors: number, options: { readonly maskable?: boolean; readonly is64?: boolean } = {}): MsiCapSpec => ({
  kind: 'msi',
  vectors,
  is64: options.is64 ?? true,
  maskable: options.maskable ?? false,
});

/** PCI Express (version 2), an endpoint by default; it makes config space 4 KiB. */
export const pcie = (deviceType: PcieDeviceType = 'endpoint', options: Omit<PcieCapSpec, 'kind' | 'deviceType'> = {}): PcieCapSpec => ({
  kind: 'pcie',
  deviceType,
  ...options,
});

/** A vendor-specific capability carrying `bytes` (guest-writable where `writeMask` has bits set). */
export const vendorCapability = (bytes: Buffer, writeMask?: Buffer): VendorCapSpec => ({ kind: 'vendor', bytes, writeMask });

/** A vendor-specific extended capability (VSEC) with its id, revision and body. */
export const vendorExtCapability = (vsecId: number, bytes: Buffer, options: { readonly vsecRev?: number; readonly writeMask?: Buffer } = {}): VendorExtCapSpec => ({
  kind: 'vendor',
  vsecId,
  bytes,
  ...options,
});

/** The Device Serial Number extended capability. */
export const serialNumber = (serial: bigint): DsnExtCapSpec => ({ kind: 'dsn', serial });
