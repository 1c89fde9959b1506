// The Wireshark dissector (dissector/vfio-user.lua) run by tshark over a capture holding a request
// and a reply of every command. Skipped, saying so, where tshark is not installed.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { captureWriter } from '../../src/capture/index.js';
import { Command } from '../../src/protocol/index.js';
import { traceOf } from '../../src/wire/trace.js';
import { sampleConversation } from './messages.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dissector = path.join(root, 'dissector', 'vfio-user.lua');
const hasTshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;

const test = suite('Wireshark dissector (tshark)');

/** Writes the sample conversation as a capture and returns its path. */
const sampleCapture = (dir: string): string => {
  const blocks: Buffer[] = [];
  const write = captureWriter((b) => blocks.push(b));
  sampleConversation().forEach((m, i) => write({ ...traceOf(m.direction, m.header, m.fdInfo.length, m.payload), header: m.header, fdInfo: m.fdInfo, timestamp: 1_700_000_000_000 + i }));
  const file = path.join(dir, 'every-command.pcapng');
  writeFileSync(file, Buffer.concat(blocks));
  return file;
};

/** tshark's fields of each packet (two passes, the first forced by the filter, so requests know their replies). */
const tshark = (file: string, fields: readonly string[]): string[][] => {
  const r = spawnSync('tshark', ['-2', '-Y', 'vfio_user', '-X', `lua_script:${dissector}`, '-r', file, '-T', 'fields', '-E', 'separator=|', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.not.match(r.stderr, /Lua: Error|lua_script/i, r.stderr);
  return r.stdout.trim().split('\n').map((l) => l.split('|'));
};

if (!hasTshark) {
  console.log('tshark is not installed: the dissector specs are skipped (apt-get install tshark; .ci/run installs it)');
  test.skip('decodes every command (needs tshark)', () => undefined);
} else {
  const dir = mkdtempSync(path.join(tmpdir(), 'vfio-user-dissector-'));
  const file = sampleCapture(dir);
  test.after(() => rmSync(dir, { recursive: true, force: true }));

  test('names every command of the protocol, request and reply, with its direction', () => {
    const rows = tshark(file, ['vfio_user.command', 'vfio_user.flags.type', '_ws.col.Info']);
    const commands = new Set(rows.map((r) => Number(r[0])));
    for (const n of Object.values(Command)) assert.ok(commands.has(n), `command ${n} decoded`);
    assert.is(rows.length, sampleConversation().length);
    const info = rows.map((r) => r[2]!);
    assert.ok(info.every((l) => /^(C->S|S->C) [A-Z_]+ (command|reply) id=0x[0-9a-f]{4}/.test(l)), info.join('\n'));
    assert.ok(info.includes('S->C DMA_READ command id=0x001a address=0x100000 count=0x8'), info.join('\n'));
    assert.ok(info.includes('C->S REGION_WRITE command id=0x0019 region=BAR2 offset=0x10 count=4'), info.join('\n'));
    assert.ok(info.includes('C->S DMA_MAP command id=0x0011 fds=memfd:guest-ram/0x10000 address=0x100000 size=0x10000'), info.join('\n'));
    assert.ok(info.includes('C->S DEVICE_SET_IRQS command id=0x0017 fds=eventfd,eventfd index=MSI-X flags=0x24 start=0 count=2'), info.join('\n'));
  });

  test('matches each reply with its request by id, both ways', () => {
    const rows = tshark(file, ['frame.number', 'vfio_user.flags.type', 'vfio_user.response_in', 'vfio_user.response_to', 'vfio_user.time']);
    for (let i = 0; i < rows.length; i += 2) {
      const [request, reply] = [rows[i]!, rows[i + 1]!];
      assert.equal([request[1], request[2]], ['0', reply[0]], `request ${request[0]} names its reply`);
      assert.equal([reply[1], reply[3]], ['1', request[0]], `reply ${reply[0]} names its request`);
      assert.ok(Number(reply[4]) > 0, 'time since the request');
    }
  });

  test('shows error replies as errno names', () => {
    const errors = tshark(file, ['vfio_user.command', 'vfio_user.errno_name', '_ws.col.Info']).filter((r) => r[1] !== '');
    assert.equal(errors.map((r) => [r[0], r[1]]), [['16', 'EINVAL'], ['9', 'EINVAL']]);
    assert.match(errors[1]![2]!, /REGION_READ reply id=0x[0-9a-f]{4} error=EINVAL$/);
  });

  test('decodes each command\'s payload fields', () => {
    const fields = ['vfio_user.version.json', 'vfio_user.sparse.nr_areas', 'vfio_user.io.fd_index', 'vfio_user.io.type', 'vfio_user.irq.index', 'vfio_user.wr_cnt',
      'vfio_user.feature', 'vfio_user.mig.flags', 'vfio_user.mig.device_state', 'vfio_user.log.page_size', 'vfio_user.data', 'vfio_user.num_regions', 'vfio_user.fds'];
    const rows = tshark(file, fields);
    const column = (name: string) => rows.map((r) => r[fields.indexOf(name)]!).filter((v) => v !== '');
    assert.ok(column('vfio_user.version.json')[0]!.includes('"twin_socket":{"supported":true}'));
    assert.equal(column('vfio_user.sparse.nr_areas'), ['1']);
    assert.equal([column('vfio_user.io.fd_index'), column('vfio_user.io.type')], [['0'], ['0']]);
    assert.equal(column('vfio_user.irq.index'), ['2', '2', '2']);
    assert.equal(column('vfio_user.wr_cnt'), ['1', '1']);
    assert.equal(column('vfio_user.mig.flags'), ['0x0000000000000005']);
    assert.equal(column('vfio_user.mig.device_state'), ['3', '3']);
    assert.equal(column('vfio_user.log.page_size'), ['0x0000000000001000']);
    assert.ok(column('vfio_user.data').includes('efbeadde'), 'REGION_READ data');
    assert.equal(column('vfio_user.num_regions'), ['0', '9']);
    assert.equal(column('vfio_user.fds'), ['socket', 'memfd:guest-ram/0x10000', 'memfd:bar4/0x2000', 'eventfd', 'eventfd,eventfd']);
  });
}

test.run();
