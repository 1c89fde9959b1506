/** Echo peer on the framework: an endpoint that answers every command with a header-only reply. */
import { endpoint } from '../../src/wire/endpoint.js';
import { native } from '../../src/native/index.js';
import { connection } from '../../src/wire/connection.js';
import { meter, peerArgs } from './meter.js';

const { fd, warmup } = peerArgs();
const closeFd = (n: number) => native.close(n);
const ep = endpoint(connection(native.channelFromFd(fd), { closeFd }), { timeoutMs: 0, closeFd });
const cpu = meter(warmup);

// The parent hanging up is the normal end of a run; closed$ says so whatever the cause.
ep.closed$.subscribe(() => {
  ep.close();
  void cpu.report();
});
ep.commands$.subscribe({
  next: (frame) => {
    ep.reply(frame);
    cpu.count(1);
  },
  error: () => undefined, // closed$ reports the end
});
