// VERSION: what comes first, what is negotiated, and the reply's size (after libvfio-user's test_negotiate.py).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Command, HeaderFlags } from '../../src/protocol/constants.js';
import { Errno } from '../../src/protocol/errno.js';
import { decodeVersionReply, encodeVersionRequest } from '../../src/protocol/version.js';
import { testBed } from '../../src/server/index.js';
import { assertErrno, assertOk, kitchenSink } from './fixtures.js';

const bedWithoutVersion = () => {
  const bed = testBed(kitchenSink());
  const session = bed.open({ version: false });
  return { bed, session, req: bed.req };
};

const replyOf = (session: { sent: readonly { command: number; flags: number; error?: number }[] }, command: number) =>
  session.sent.filter((m) => m.command === command);

test('a command before VERSION is answered EINVAL and the connection is closed', async () => {
  const { session, req } = bedWithoutVersion();
  assertErrno(await session.send(req.deviceInfo()), Errno.EINVAL);
  session.post(req.version());
  assert.is(replyOf(session, Command.VERSION).length, 0, 'nothing is served after the refusal');
  session.stop();
});

test('VERSION carrying fds is answered EINVAL, the fds are closed, and the connection is closed', async () => {
  const { bed, session, req } = bedWithoutVersion();
  const fd = bed.io.eventfd();
  assertErrno(await session.send(req.version(undefined, { fds: [fd] })), Errno.EINVAL);
  assert.not.ok(bed.io.isOpen(fd));
  session.post(req.deviceInfo());
  assert.is(replyOf(session, Command.DEVICE_GET_INFO).length, 0);
  session.stop();
});

test('VERSION with a major other than 0 is answered EINVAL', async () => {
  const { session, req } = bedWithoutVersion();
  assertErrno(await session.send(req.frame(Command.VERSION, encodeVersionRequest({ major: 1, minor: 0 }))), Errno.EINVAL);
  session.stop();
});

test('VERSION with JSON missing its NUL is answered EINVAL', async () => {
  const { session, req } = bedWithoutVersion();
  const payload = Buffer.concat([Buffer.from([0, 0, 0, 0]), Buffer.from('{"capabilities":{}}')]);
  assertErrno(await session.send(req.frame(Command.VERSION, payload)), Errno.EINVAL);
  session.stop();
});

test('VERSION with a wrongly typed capability is answered EINVAL', async () => {
  const { session, req } = bedWithoutVersion();
  const payload = Buffer.concat([Buffer.from([0, 0, 0, 0]), Buffer.from('{"capabilities":{"max_msg_fds":"8"}}\0')]);
  assertErrno(await session.send(req.frame(Command.VERSION, payload)), Errno.EINVAL);
  session.stop();
});

test('replies with our limits and write_multiple, minor = min(theirs, ours), no twin unless proposed', async () => {
  const { session, req } = bedWithoutVersion();
  const reply = assertOk(await session.send(req.frame(Command.VERSION, encodeVersionRequest({ major: 0, minor: 7, json: { capabilities: { max_msg_fds: 16, max_data_xfer_size: 1048576, pgsizes: 4096, max_dma_maps: 65535, write_multiple: true, migration: { pgsize: 4096, max_bitmap_size: 268435456 } } } }))));
  const v = decodeVersionReply(reply.payload);
  assert.equal([v.major, v.minor], [0, 2]);
  assert.equal(v.json, { capabilities: { max_msg_fds: 16, max_data_xfer_size: 1048576, max_dma_maps: 65535, pgsizes: 4096, write_multiple: true } });
  assert.is(reply.fds.length, 0);
  assertOk(await session.send(req.deviceInfo()));
  session.stop();
});

test('write_multiple is in the reply only when the client proposed it (the reply is a subset of the proposal)', async () => {
  for (const proposed of [undefined, false, true]) {
    const { session, req } = bedWithoutVersion();
    const capabilities = { max_msg_fds: 16, max_data_xfer_size: 1048576, ...(proposed === undefined ? {} : { write_multiple: proposed }) };
    const reply = assertOk(await session.send(req.frame(Command.VERSION, encodeVersionRequest({ major: 0, minor: 2, json: { capabilities } }))));
    const caps = (decodeVersionReply(reply.payload).json as { capabilities: Record<string, unknown> }).capabilities;
    assert.is(caps.write_multiple, proposed === true ? true : undefined, `proposed ${proposed}`);
    session.stop();
  }
});

test('the reply is never longer than the request: keys equal to the defaults go first', async () => {
  const { session, req } = bedWithoutVersion();
  const request = encodeVersionRequest({ major: 0, minor: 0, json: { capabilities: { max_msg_fds: 4, write_multiple: true } } });
  const reply = assertOk(await session.send(req.frame(Command.VERSION, request)));
  assert.ok(reply.payload.length <= request.length, `${reply.payload.length} > ${request.length}`);
  const caps = (decodeVersionReply(reply.payload).json as { capabilities: Record<string, unknown> }).capabilities;
  assert.is(caps.max_msg_fds, 16);
  assert.is(caps.pgsizes, undefined, 'pgsizes 4096 is the default and goes first');
  session.stop();
});

test('a VERSION without JSON gets a reply without JSON (it could not be shorter otherwise)', async () => {
  const { session, req } = bedWithoutVersion();
  const reply = assertOk(await session.send(req.frame(Command.VERSION, encodeVersionRequest({ major: 0, minor: 0 }))));
  assert.is(reply.payload.length, 4);
  assert.equal(decodeVersionReply(reply.payload), { major: 0, minor: 0 });
  assertOk(await session.send(req.deviceInfo()));
  session.stop();
});

test('a twin socket is not offered to a client that takes no fds', async () => {
  const { session, req } = bedWithoutVersion();
  const reply = assertOk(await session.send(req.version({ max_msg_fds: 0, twin_socket: { supported: true }, max_data_xfer_size: 4096, max_dma_maps: 10 })));
  const caps = (decodeVersionReply(reply.payload).json as { capabilities: Record<string, unknown> }).capabilities;
  assert.is(caps.twin_socket, undefined);
  assert.is(reply.fds.length, 0);
  session.stop();
});

test('a second VERSION is answered EINVAL and the connection stays usable', async () => {
  const { bed, session, req } = { ...bedWithoutVersion() };
  assertOk(await session.send(req.version()));
  assertErrno(await session.send(req.version()), Errno.EINVAL);
  assertOk(await session.send(req.deviceInfo()));
  assert.ok(bed.io.openFds().length >= 1);
  session.stop();
});

test('a VERSION sent with No_reply is still negotiated, silently', async () => {
  const { session, req } = bedWithoutVersion();
  session.post(req.version(undefined, { noReply: true }));
  assert.is(session.sent.filter((m) => m.flags & HeaderFlags.ERROR).length, 0);
  assertOk(await session.send(req.deviceInfo()));
  session.stop();
});

test.run();
