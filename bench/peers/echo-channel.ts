/**
 * Echo peer on the bare native channel: sends every byte straight back. In `reply` mode it turns
 * each 16-byte command header into its reply (type bits of the flags set to REPLY), so a parent
 * using the framework's correlator accepts it.
 */
import { native } from '../../src/native/index.js';
import { HEADER_SIZE, MessageType } from '../../src/protocol/constants.js';
import { meter, peerArgs } from './meter.js';

const { fd, warmup, mode } = peerArgs();
const asReply = mode === 'reply';
const flagsOffset = 8;
const channel = native.channelFromFd(fd);
const cpu = meter(warmup);
// Position in the 16-byte message stream, so the flags byte is found even across split reads.
let position = 0;

const finish = () => {
  channel.close();
  void cpu.report();
};

channel.start({
  data: (bytes) => {
    if (asReply) {
      for (let i = 0; i < bytes.length; i++) {
        if ((position + i) % HEADER_SIZE === flagsOffset) bytes[i] = MessageType.REPLY;
      }
    }
    channel.send([bytes]);
    const before = Math.floor(position / HEADER_SIZE);
    position += bytes.length;
    cpu.count(Math.floor(position / HEADER_SIZE) - before);
  },
  end: finish,
  error: (err) => {
    console.error(`echo-channel: ${err.message}`);
    process.exitCode = 1;
    finish();
  },
});
