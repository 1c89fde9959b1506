import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { formatFdInfo, formatFdList, parseFdList, type FdInfo } from '../../src/protocol/index.js';

const test = suite('fd-info');

test('each kind has a text form that reads back', () => {
  const fds: FdInfo[] = [
    { kind: 'memfd', name: 'guest-ram', size: 0x100000 },
    { kind: 'eventfd' },
    { kind: 'socket' },
    { kind: 'file', path: '/tmp/libvfio-user.x (deleted)', size: 0x4000 },
    { kind: 'other', target: 'anon_inode:[io_uring]' },
  ];
  assert.equal(fds.map(formatFdInfo), ['memfd:guest-ram/0x100000', 'eventfd', 'socket', 'file:/tmp/libvfio-user.x (deleted)/0x4000', 'other:anon_inode:[io_uring]']);
  assert.equal(parseFdList(formatFdList(fds)), fds);
});

test('names with commas survive the list', () => {
  const fds: FdInfo[] = [{ kind: 'memfd', name: 'a,b,eventfd', size: 1 }, { kind: 'eventfd' }];
  assert.equal(parseFdList(formatFdList(fds)), fds);
  assert.equal(parseFdList(''), []);
});

test('text no writer made is kept as other', () => {
  assert.equal(parseFdList('pipe:[123]'), [{ kind: 'other', target: 'pipe:[123]' }]);
});

test.run();
