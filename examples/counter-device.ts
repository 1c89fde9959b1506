// A device in a few lines: BAR 0 counts the writes it receives and raises MSI-X vector 0 on each.
// Run: npx tsx examples/counter-device.ts /tmp/counter.sock   (after npm run build: it imports the package)
import { map, scan, tap } from 'rxjs';
import {
  memoryBar,
  msix,
  msixBar,
  pciDevice,
  pcie,
  serveUntilSignal,
  type AccessResult,
  type RegionOperator,
} from 'vfio-user-rx';

// The register file is a fold over the access stream: reads return the write count in every byte.
const counter: RegionOperator = (access$, ctx) =>
  access$.pipe(
    scan(
      ({ writes }, access): { writes: number; result: AccessResult } =>
        access.kind === 'write'
          ? { writes: writes + 1, result: { access } }
          : { writes, result: { access, data: Buffer.alloc(access.count, writes) } },
      { writes: 0, result: undefined as unknown as AccessResult },
    ),
    tap(({ result }) => result.access.kind === 'write' && ctx.trigger('msix', 0)),
    map(({ result }) => result),
  );

/** The counter device: BAR 0 registers, BAR 2 the MSI-X table. */
export const counterDevice = () =>
  pciDevice({
    ids: { vendorId: 0x1af4, deviceId: 0x1234, classCode: 0xff0000 },
    bars: { 0: memoryBar(4096, counter), 2: msixBar(2) },
    capabilities: [msix(2, 2), pcie()],
  });

if (import.meta.url === `file://${process.argv[1]}`) {
  const socketPath = process.argv[2] ?? 'counter.sock';
  await serveUntilSignal(counterDevice(), { socketPath }, { onEvent: (e) => console.log(e.kind) });
}
