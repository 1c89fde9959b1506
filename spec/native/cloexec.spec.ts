/** Every fd the native layer creates or receives is close-on-exec. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { closeAll, native, type Channel } from '../../src/native/index.js';
import { encodeMessage, makeFds } from './fixtures/messages.js';
import { Receiver } from './fixtures/receiver.js';

const O_CLOEXEC = 0o2000000;

/** The open flags of one of our fds, from /proc/self/fdinfo. */
const isCloexec = (fd: number): boolean => {
  const flags = /^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  return (parseInt(flags![1]!, 8) & O_CLOEXEC) !== 0;
};

test('created, accepted, connected, duplicated and received fds are all CLOEXEC', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vfu-cloexec-'));
  try {
    const listener = native.listen(join(dir, 'sock'), 0o600);
    const accepted = new Promise<Channel>((resolve, reject) => listener.start(resolve, reject));
    const client = native.connect(join(dir, 'sock'));
    const server = await accepted;
    const receiver = new Receiver(server);
    const sent = makeFds(1, 1);
    client.send([encodeMessage(1, 16)], sent);
    const [received] = (await receiver.messages(1))[0]!.fds;
    const [p, q] = native.socketpair();
    const ours = {
      listener: listener.fd,
      client: client.fd,
      server: server.fd,
      received: received!,
      socketpair: p!,
      socketpair2: q!,
      eventfd: native.eventfd(),
      memfd: sent[0]!,
      dup: native.dup(sent[0]!),
    };
    for (const [what, fd] of Object.entries(ours)) assert.ok(isCloexec(fd), `${what} (fd ${fd}) is CLOEXEC`);

    // And a real exec: none of them is open in a child process.
    const targets = Object.values(ours).map((fd) => readlinkSync(`/proc/self/fd/${fd}`));
    const listFds = `const fs = require('fs');
      for (const fd of fs.readdirSync('/proc/self/fd')) {
        try { console.log(fs.readlinkSync('/proc/self/fd/' + fd)); } catch {}
      }`;
    const child = spawnSync(process.execPath, ['-e', listFds]);
    const inChild = new Set(child.stdout.toString().split('\n'));
    for (const target of targets.filter((t) => !t.startsWith('anon_inode:'))) {
      assert.not.ok(inChild.has(target), `${target} leaked into the child`);
    }
    closeAll([received!, p!, q!, ours.eventfd, ours.dup, ...sent]);
    client.close();
    server.close();
    listener.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
