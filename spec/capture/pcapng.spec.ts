import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { captureWriter, capturedMessages, encodeEnhancedPacket, encodeInterface, encodeSectionHeader, readPcapng, type CapturableEvent } from '../../src/capture/index.js';
import { CaptureFormatError, Command, HeaderFlags } from '../../src/protocol/index.js';
import { traceOf } from '../../src/wire/trace.js';

const test = suite('pcapng capture');

const write = (events: readonly CapturableEvent[]): Buffer => {
  const blocks: Buffer[] = [];
  const w = captureWriter((b) => blocks.push(b));
  events.forEach(w);
  return Buffer.concat(blocks);
};

const header = (id: number, command: number, size: number, flags: number, error = 0) => ({ id, command, size, flags, error });

test('the section header block, byte for byte', () => {
  assert.is(
    encodeSectionHeader('x').toString('hex'),
    // type, length 40, magic, 1.0, section length -1, shb_userappl "x" (padded), end of options, length 40
    '0a0d0d0a' + '28000000' + '4d3c2b1a' + '0100' + '0000' + 'ffffffffffffffff' + '04000100' + '78000000' + '00000000' + '28000000',
  );
});

test('an interface block names link type 147 (LINKTYPE_USER0) and no snap length', () => {
  const idb = encodeInterface('session 1 main');
  assert.is(idb.readUInt32LE(0), 1);
  assert.is(idb.readUInt16LE(8), 147);
  assert.is(idb.readUInt32LE(12), 0);
});

test('an enhanced packet block: interface, microseconds, the bytes padded, direction in epb_flags, fds in a comment', () => {
  const epb = encodeEnhancedPacket({ interfaceId: 1, timestampUs: 0x1_0000_0002n, data: Buffer.from('0102030405', 'hex'), direction: 'in', fdInfo: [{ kind: 'eventfd' }] });
  assert.is(epb.readUInt32LE(0), 6);
  assert.is(epb.readUInt32LE(8), 1);
  assert.equal([epb.readUInt32LE(12), epb.readUInt32LE(16)], [1, 2]);
  assert.equal([epb.readUInt32LE(20), epb.readUInt32LE(24)], [5, 5]);
  assert.is(epb.subarray(28, 36).toString('hex'), '0102030405000000');
  assert.is(epb.subarray(36, 44).toString('hex'), '0200040001000000', 'epb_flags: inbound');
  assert.is(epb.subarray(44, 48).toString('hex'), '01000b00', 'opt_comment of 11 bytes');
  assert.is(epb.subarray(48, 59).toString(), 'fds=eventfd');
  assert.is(epb.readUInt32LE(epb.length - 4), epb.length);
});

test('messages round-trip: header, payload, direction, fds, conversation and socket, to the microsecond', () => {
  const payload = Buffer.from('00000000010000000000000000000000040000000000000001000000', 'hex');
  const events: CapturableEvent[] = [
    { ...traceOf('out', header(9, Command.REGION_WRITE, 16 + payload.length, 0), 0, payload), session: 2, timestamp: 1_700_000_000_123.456 },
    { ...traceOf('in', header(9, Command.REGION_WRITE, 16, 1 | HeaderFlags.ERROR, 22), 0), session: 2, timestamp: 1_700_000_000_124.5 },
    {
      ...traceOf('out', header(3, Command.DMA_MAP, 48, 0), 2, Buffer.alloc(32)),
      link: 'twin',
      fdInfo: [{ kind: 'memfd', name: 'guest,ram', size: 0x10000 }, { kind: 'socket' }],
      timestamp: 5,
    },
  ];
  const capture = readPcapng(write(events));
  assert.equal(capture.interfaces.map((i) => [i.linkType, i.name]), [[147, 'session 2 main'], [147, 'session 1 twin']]);
  assert.is(capture.trailing, 0);
  const back = capturedMessages(capture);
  assert.equal(back.map((e) => [e.direction, e.id, e.commandName, e.type, e.size, e.flags, e.errno, e.session, e.link, e.fdCount]), [
    ['out', 9, 'REGION_WRITE', 'command', 44, 0, 0, 2, 'main', 0],
    ['in', 9, 'REGION_WRITE', 'reply', 16, 0x21, 22, 2, 'main', 0],
    ['out', 3, 'DMA_MAP', 'command', 48, 0, 0, 1, 'twin', 2],
  ]);
  assert.is(back[0]!.payload!.toString('hex'), payload.toString('hex'));
  assert.is(back[0]!.timestamp, 1_700_000_000_123.456);
  assert.equal(back[2]!.fdInfo, [{ kind: 'memfd', name: 'guest,ram', size: 0x10000 }, { kind: 'socket' }]);
});

test('the raw header of a tapped message is kept, reserved error field included', () => {
  const raw = header(1, Command.DEVICE_GET_INFO, 16, 0, 0xdead);
  const capture = readPcapng(write([{ ...traceOf('out', raw, 0), header: raw }]));
  assert.is(capture.packets[0]!.data.readUInt32LE(12), 0xdead);
});

test('a capture cut inside a block is read up to it, and says how much is left', () => {
  const whole = write([traceOf('out', header(1, Command.DEVICE_RESET, 16, 0), 0), traceOf('in', header(1, Command.DEVICE_RESET, 16, 1), 0)]);
  const cut = readPcapng(whole.subarray(0, whole.length - 10));
  assert.is(cut.packets.length, 1);
  assert.ok(cut.trailing > 0);
});

test('damage is a CaptureFormatError naming what is wrong', () => {
  const good = write([traceOf('out', header(1, Command.DEVICE_RESET, 16, 0), 0)]);
  const cases: [Buffer, RegExp][] = [
    [Buffer.from('not a capture'), /not a pcapng file/],
    [Buffer.concat([encodeSectionHeader(), encodeEnhancedPacket({ interfaceId: 0, timestampUs: 0n, data: Buffer.alloc(16), direction: 'in', fdInfo: [] })]), /names interface 0, which is not described/],
    [(() => { const b = Buffer.from(good); b.writeUInt32LE(13, 4); return b; })(), /bad length 13/],
    [(() => { const b = Buffer.from(good); b.writeUInt32LE(0x999, b.length - 4); return b; })(), /two lengths differ/],
  ];
  for (const [bytes, message] of cases) {
    try {
      capturedMessages(readPcapng(bytes));
      assert.unreachable(`accepted ${message}`);
    } catch (err) {
      assert.instance(err, CaptureFormatError);
      assert.is((err as CaptureFormatError).code, 'ERR_VFIO_USER_CAPTURE');
      assert.match((err as Error).message, message);
    }
  }
  const wrongLink = Buffer.from(good);
  const idb = wrongLink.indexOf(Buffer.from('01000000', 'hex'), 36);
  wrongLink.writeUInt16LE(1, idb + 8);
  assert.throws(() => readPcapng(wrongLink), /link type 1, not vfio-user's 147/);
  const notMessage = Buffer.concat([encodeSectionHeader(), encodeInterface('x'), encodeEnhancedPacket({ interfaceId: 0, timestampUs: 0n, data: Buffer.alloc(4), direction: 'in', fdInfo: [] })]);
  assert.throws(() => capturedMessages(readPcapng(notMessage)), /packet 1 is not a vfio-user message/);
});

test.run();
