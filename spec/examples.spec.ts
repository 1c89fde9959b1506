import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tsx = (file: string, ...args: string[]) => [process.execPath, ['--import', 'tsx', path.join(root, file), ...args]] as const;

test('the README examples run: the counter device serves, the client counts two writes and gets an interrupt', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vfio-user-examples-'));
  const socketPath = path.join(dir, 'counter.sock');
  const [node, args] = tsx('examples/counter-device.ts', socketPath);
  const server = spawn(node, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      server.stdout.on('data', (d: Buffer) => d.toString().includes('listening') && resolve());
      server.on('exit', (code) => reject(new Error(`device exited with ${code}`)));
    });
    const [cnode, cargs] = tsx('examples/client.ts', socketPath);
    const client = spawnSync(cnode, cargs, { cwd: root, encoding: 'utf8', timeout: 30_000 });
    assert.is(client.status, 0, client.stderr);
    assert.match(client.stdout, /device 1af4:1234, 9 regions/);
    assert.match(client.stdout, /writes counted: 2/);
    assert.match(client.stdout, /interrupt: msix vector 0/);
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    assert.not.ok(existsSync(socketPath), 'the socket file is removed on SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
