// Shared by the protocol specs: hex golden bytes and assertions on MalformedMessageError.
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { MalformedMessageError } from '../../src/protocol/errors.js';

/** Bytes from a hex string written with any whitespace, e.g. `hex('20 00 00 00')`. */
export const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** Asserts that `actual` has exactly the bytes of the hex string. */
export const assertHex = (actual: Buffer, expected: string): void => {
  assert.is(actual.toString('hex'), hex(expected).toString('hex'));
};

/** Runs `fn`, asserts it throws MalformedMessageError with this field and errno, and returns it. */
export const assertMalformed = (fn: () => unknown, field: string, errno = 22): MalformedMessageError => {
  try {
    fn();
  } catch (e) {
    assert.instance(e, MalformedMessageError);
    const err = e as MalformedMessageError;
    assert.is(err.field, field, `field of: ${err.message}`);
    assert.is(err.errno, errno, `errno of: ${err.message}`);
    return err;
  }
  return assert.unreachable('expected a MalformedMessageError') as never;
};

/** fast-check arbitraries for wire field widths (u64 fields hold safe integers only). */
export const arb = {
  u16: () => fc.integer({ min: 0, max: 0xffff }),
  u32: () => fc.integer({ min: 0, max: 0xffffffff }),
  u64: () => fc.maxSafeNat(),
  bytes: (maxLength = 64) => fc.uint8Array({ maxLength }).map((a) => Buffer.from(a)),
};

/** fc.record with ordinary prototypes, so uvu's deep equality matches decoded records. */
export const rec = <T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> =>
  fc.record(model, { noNullPrototype: true }) as fc.Arbitrary<T>;
