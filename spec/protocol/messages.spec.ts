import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Command } from '../../src/protocol/constants.js';
import { commandDirection, isClientCommand, isServerCommand } from '../../src/protocol/messages.js';

test('only DMA_READ and DMA_WRITE go from server to client', () => {
  const serverSent = Object.entries(commandDirection).filter(([, d]) => d === 'server-to-client').map(([n]) => Number(n));
  assert.equal(serverSent.sort((a, b) => a - b), [11, 12]);
});

test('every known command has a direction', () => {
  for (const n of Object.values(Command)) assert.ok(commandDirection[n], `command ${n}`);
});

test('isClientCommand and isServerCommand reject unknown numbers', () => {
  assert.ok(isClientCommand(Command.REGION_READ));
  assert.not.ok(isClientCommand(Command.DMA_READ));
  assert.ok(isServerCommand(Command.DMA_WRITE));
  assert.not.ok(isClientCommand(14));
  assert.not.ok(isServerCommand(19));
  assert.not.ok(isClientCommand(0));
});

test.run();
