// Open a device, read and write a BAR, and wait for an interrupt.
// Run: npx tsx examples/client.ts /tmp/counter.sock   (with examples/counter-device.ts serving)
import { guestMemory, openDevice } from 'vfio-user-rx';

const socketPath = process.argv[2] ?? 'counter.sock';
const memory = guestMemory();
memory.add({ iova: 0, size: 1 << 20 }); // 1 MiB of guest RAM, offered to the device for DMA

const dev = await openDevice({ socketPath, memory });
const { vendorId, deviceId } = dev.config;
console.log(`device ${vendorId.toString(16)}:${deviceId.toString(16)}, ${dev.regions.length} regions`);

const interrupts = dev.interrupts(); // subscribe before enabling: interrupts are a hot stream
await dev.enableInterrupts('msix', 2);
await dev.region(0).write(0x0, Buffer.of(1)); // posted: no reply awaited
await dev.region(0).write(0x0, Buffer.of(1));
const count = await dev.region(0).read(0x0, 1); // a reply also fences the posted writes
console.log(`writes counted: ${count[0]}`);

for await (const irq of interrupts) {
  console.log(`interrupt: ${irq.type} vector ${irq.vector}`);
  break;
}
await dev.close();
memory.close();
