// The decoder's contract on hostile input (DESIGN.md rule 3): return a message or throw StunParseError,
// nothing else, on random bytes and on valid messages with bits flipped, bytes cut, lengths edited and
// attributes inserted. About 110 000 cases per run; decode then encode being the identity is roundtrip.test.ts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { StunParseError, decodeStunMessage, encodeStunMessage, type StunMessage } from '../../src/stun/index.js';
import { MAGIC, mutation, plausibleMessage, validMessage } from './arbitraries.js';

/** Decodes, and fails the property on anything but success or a StunParseError. */
function decodeOrParseError(bytes: Uint8Array): StunMessage | StunParseError {
  try {
    return decodeStunMessage(bytes);
  } catch (e) {
    if (e instanceof StunParseError) {
      assert.ok(e.offset >= 0 && e.offset <= bytes.length, `offset ${e.offset} outside 0..${bytes.length}`);
      return e;
    }
    throw new Error(`decoder threw ${String(e)} on ${Buffer.from(bytes).toString('hex')}`);
  }
}

/** A decoded message re-encodes (FINGERPRINT recomputed) and decodes to the same attributes. */
function checkIdempotent(message: StunMessage): void {
  const bytes = encodeStunMessage(message, { fingerprint: message.fingerprintOffset >= 0 });
  const again = decodeStunMessage(bytes);
  const strip = (m: StunMessage): unknown[] => m.attributes.filter((a) => a.name !== 'FINGERPRINT').map((a) => [a.type, a.value]);
  assert.deepEqual(strip(again), strip(message));
  assert.deepEqual(again.unknownComprehensionRequired, message.unknownComprehensionRequired);
}

describe('decoder on hostile input', () => {
  it('random bytes: a message or a StunParseError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120, size: 'max' }), fc.option(fc.constantFrom(0, 1, 2, 3)), fc.boolean(), (bytes, first, cookie) => {
        // Often give it a STUN-like first byte and the cookie, so the length checks are reached.
        if (first !== null && bytes.length > 0) bytes[0] = first;
        if (cookie && bytes.length >= 8) bytes.set(MAGIC, 4);
        decodeOrParseError(bytes);
      }),
      { numRuns: 30_000 },
    );
  });

  it('random attributes behind a plausible header: a message or a StunParseError, and decoding is idempotent', () => {
    fc.assert(
      fc.property(plausibleMessage, (bytes) => {
        const result = decodeOrParseError(bytes);
        if (!(result instanceof StunParseError)) checkIdempotent(result);
      }),
      { numRuns: 30_000 },
    );
  });

  it('mutated valid messages: a message or a StunParseError, and decoding is idempotent', () => {
    fc.assert(
      fc.property(validMessage, fc.array(mutation, { minLength: 1, maxLength: 3 }), (bytes, mutations) => {
        let b = bytes;
        for (const mutate of mutations) b = mutate(b);
        const result = decodeOrParseError(b);
        if (!(result instanceof StunParseError)) checkIdempotent(result);
      }),
      { numRuns: 50_000 },
    );
  });

  it('never loops or blows up on the largest message', () => {
    const bytes = new Uint8Array(20 + 0xfffc);
    bytes[2] = 0xff;
    bytes[3] = 0xfc;
    bytes.set(MAGIC, 4);
    // 16 383 empty comprehension-optional attributes of an unknown type.
    for (let at = 20; at < bytes.length; at += 4) bytes[at] = 0xc0;
    const message = decodeStunMessage(bytes);
    assert.equal(message.attributes.length, 0xfffc / 4);
  });
});
