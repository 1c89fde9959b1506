// Serves COUNT gpio sample devices from this one process, on DIR/0.sock .. DIR/<COUNT-1>.sock, with
// the compiled package (run `npm run build` first). Prints "ready" once all listen; SIGTERM stops it.
import { join } from 'node:path';
import { serve, samples } from '../../dist/index.js';

const [dir, countText] = process.argv.slice(2);
const count = Number(countText);
let listening = 0;
const subs = Array.from({ length: count }, (_, i) =>
  serve(samples.gpioDevice(), { socketPath: join(dir, `${i}.sock`) }).subscribe({
    next: (e) => e.kind === 'listening' && ++listening === count && console.log('ready'),
    error: (err) => {
      console.error(`device ${i}: ${err.message}`);
      process.exit(1);
    },
  }),
);
process.on('SIGTERM', () => {
  subs.forEach((s) => s.unsubscribe());
  process.exit(0);
});
