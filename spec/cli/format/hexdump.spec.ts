import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hexdump } from '../../../src/cli/format/hexdump.js';

test('16 bytes a line, offset-prefixed, with the printable characters', () => {
  const bytes = Buffer.from('hello dma world!0123', 'latin1');
  assert.equal(hexdump(bytes), [
    '00000000: 68 65 6c 6c 6f 20 64 6d  61 20 77 6f 72 6c 64 21  |hello dma world!|',
    '00000010: 30 31 32 33                                       |0123|',
  ]);
});

test('offsets count from the base given (the offset in the region)', () => {
  assert.equal(hexdump(Buffer.from([0x00, 0x7f, 0x20, 0xff]), 0x1ff8), ['00001ff8: 00 7f 20 ff                                       |.. .|']);
});

test('an empty buffer gives no lines', () => {
  assert.equal(hexdump(Buffer.alloc(0)), []);
});

test.run();
