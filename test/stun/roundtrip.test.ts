// Decode then encode is the identity for every message the decoder accepts (src/stun/encode.ts's promise,
// issue 17): reserved bits, text that is not UTF-8 or too long to send, NULs after a reason phrase, padding
// and the attributes RFC 8489 §9 ignores all come back as received. Checked on generated messages, random
// attributes behind a plausible header and mutated RFC 5769 vectors — over 20 000 accepted messages a run —
// and case by case below.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { crc32 } from '../../src/crypto/index.js';
import {
  FINGERPRINT_XOR,
  StunEncodeError,
  StunParseError,
  StunMethod,
  createStunMessage,
  decodeStunMessage,
  encodeStunMessage,
  type StunAttribute,
  type StunMessage,
} from '../../src/stun/index.js';
import { attributeOffsets, generatedMessage, mutation, plausibleMessage } from './arbitraries.js';
import {
  SAMPLE_IPV4_RESPONSE,
  SAMPLE_IPV6_RESPONSE,
  SAMPLE_LONG_TERM_REQUEST,
  SAMPLE_REQUEST,
  SAMPLE_SHA256_REQUEST_CORRECTED,
} from './vectors.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Counts what the properties saw, so a property that stopped reaching the decoder's lossy paths fails. */
const seen = { accepted: 0, withRaw: 0, withIgnored: 0 };

/** The identity, on bytes the decoder may or may not accept; returns whether it accepted them. */
function checkIdentity(bytes: Uint8Array): boolean {
  let message: StunMessage;
  try {
    message = decodeStunMessage(bytes);
  } catch (e) {
    if (e instanceof StunParseError) return false;
    throw e;
  }
  seen.accepted++;
  if (message.attributes.some((a) => a.name !== undefined && a.raw !== undefined)) seen.withRaw++;
  if (message.ignoredAttributes.length > 0) seen.withIgnored++;
  assert.equal(hex(encodeStunMessage(message)), hex(bytes));
  return true;
}

/** A mutation that keeps the message decodable where it can: the FINGERPRINT, if any, recomputed afterwards. */
function refingerprint(bytes: Uint8Array): Uint8Array {
  const offsets = attributeOffsets(bytes);
  const last = offsets.at(-1);
  if (last === undefined || last + 8 !== bytes.length || ((bytes[last] << 8) | bytes[last + 1]) !== 0x8028) return bytes;
  const out = bytes.slice();
  new DataView(out.buffer).setUint32(last + 4, (crc32(out, 0, last) ^ FINGERPRINT_XOR) >>> 0);
  return out;
}

const VECTORS = [SAMPLE_REQUEST, SAMPLE_IPV4_RESPONSE, SAMPLE_IPV6_RESPONSE, SAMPLE_LONG_TERM_REQUEST, SAMPLE_SHA256_REQUEST_CORRECTED].map((v) => v.bytes);

describe('decode then encode is the identity (property)', () => {
  it('on the RFC 5769 vectors', () => {
    for (const bytes of VECTORS) assert.ok(checkIdentity(bytes));
  });

  it('on generated messages', () => {
    fc.assert(fc.property(generatedMessage, (bytes) => assert.ok(checkIdentity(bytes))), { numRuns: 5_000 });
  });

  it('on random attributes behind a plausible header, whatever of them the decoder accepts', () => {
    fc.assert(fc.property(plausibleMessage, (bytes) => void checkIdentity(bytes)), { numRuns: 30_000 });
  });

  it('on mutated RFC 5769 vectors and generated messages, FINGERPRINT recomputed', () => {
    const valid = fc.oneof(fc.constantFrom(...VECTORS), generatedMessage);
    fc.assert(
      fc.property(valid, fc.array(mutation, { minLength: 1, maxLength: 3 }), (bytes, mutations) => {
        let b = bytes;
        for (const mutate of mutations) b = mutate(b);
        checkIdentity(refingerprint(b));
      }),
      { numRuns: 40_000 },
    );
  });

  it('saw over 20 000 accepted messages, among them ones with kept bytes and ignored attributes', (t) => {
    assert.ok(seen.accepted >= 20_000, `${seen.accepted} accepted`);
    t.diagnostic(`identity checked on ${seen.accepted} accepted messages, ${seen.withRaw} with kept bytes, ${seen.withIgnored} with ignored attributes`);
    assert.ok(seen.withRaw >= 500, `${seen.withRaw} with a raw attribute`);
    assert.ok(seen.withIgnored >= 100, `${seen.withIgnored} with ignored attributes`);
  });
});

/** A Binding request with one attribute of `type` and `value` (the value padded with zeros). */
function withAttribute(type: number, value: readonly number[], transactionId = new Uint8Array(12).fill(7)): Uint8Array {
  const padded = (value.length + 3) & ~3;
  const out = new Uint8Array(20 + 4 + padded);
  const view = new DataView(out.buffer);
  view.setUint16(0, 0x0001);
  view.setUint16(2, 4 + padded);
  view.setUint32(4, 0x2112a442);
  out.set(transactionId, 8);
  view.setUint16(20, type);
  view.setUint16(22, value.length);
  out.set(value, 24);
  return out;
}

function only(bytes: Uint8Array): StunAttribute {
  const message = decodeStunMessage(bytes);
  assert.equal(message.attributes.length, 1);
  return message.attributes[0];
}

describe('what a value cannot hold is kept as bytes', () => {
  const cases: [string, number, number[], unknown][] = [
    ['REQUESTED-ADDRESS-FAMILY with reserved bits', 0x0017, [0x02, 0xff, 0, 1], 'IPv6'],
    ['REQUESTED-TRANSPORT with reserved bits', 0x0019, [17, 0, 0x80, 0], 17],
    ['RESPONSE-PORT with reserved bits', 0x0027, [0x12, 0x34, 0xab, 0xcd], 0x1234],
    ['CHANNEL-NUMBER with reserved bits', 0x000c, [0x40, 0x00, 0, 1], 0x4000],
    ['EVEN-PORT with the 7 reserved bits', 0x0018, [0x81], { reservePort: true }],
    ['CHANGE-REQUEST with bits besides A and B', 0x0003, [1, 0, 0, 0x07], { changeIp: true, changePort: true }],
    ['ERROR-CODE with reserved bits and NULs after the reason', 0x0009, [0x80, 0, 0x0c, 1, 0x6e, 0x6f, 0, 0], { code: 401, reason: 'no' }],
    ['ADDRESS-ERROR-CODE with a reserved byte', 0x8001, [1, 0xff, 4, 40, 0x78], { family: 'IPv4', code: 440, reason: 'x' }],
    ['ICMP with reserved bytes', 0x8004, [0xff, 1, 3, 4, 0, 0, 5, 0x78], { type: 3, code: 4, data: 1400 }],
    ['USERNAME that is not UTF-8', 0x0006, [0x61, 0xff, 0x62], 'a\ufffdb'],
    ['PASSWORD-ALGORITHMS with nonzero padding', 0x8002, [0, 1, 0, 1, 0xaa, 0xbb, 0xcc, 0xdd], [{ algorithm: 1, parameters: new Uint8Array([0xaa]) }]],
    ['MAPPED-ADDRESS with a reserved first byte', 0x0001, [0xff, 1, 0x12, 0x34, 10, 0, 0, 1], { address: '10.0.0.1', port: 0x1234 }],
  ];
  for (const [name, type, value, expected] of cases) {
    it(`${name}: decoded to its value, re-encoded as received, and a spread is encoded from its value`, () => {
      const bytes = withAttribute(type, value);
      const attribute = only(bytes);
      assert.deepEqual(attribute.value, expected);
      assert.ok(attribute.name !== undefined && attribute.raw instanceof Uint8Array, 'raw kept');
      assert.equal(hex(encodeStunMessage(decodeStunMessage(bytes))), hex(bytes));
      // raw is not enumerable: a spread is a new attribute written from its value, reserved fields zero.
      assert.equal(Object.keys(attribute).includes('raw'), false);
      const rebuilt = encodeStunMessage(createStunMessage({ method: StunMethod.Binding, class: 'request', attributes: [{ ...attribute }] }));
      assert.notEqual(hex(rebuilt.subarray(20)), hex(bytes.subarray(20)));
      assert.deepEqual(only(rebuilt).value, expected);
      assert.ok(Object.isFrozen(attribute), 'an attribute with raw bytes is frozen');
    });
  }

  it('a 764-byte SOFTWARE (over what a sender may write, §14.14) decodes and re-encodes; built by hand it is refused', () => {
    const bytes = withAttribute(0x8022, Array.from({ length: 764 }, () => 0x61));
    const attribute = only(bytes);
    assert.equal(attribute.value, 'a'.repeat(764));
    assert.equal(hex(encodeStunMessage(decodeStunMessage(bytes))), hex(bytes));
    const byHand = createStunMessage({ method: StunMethod.Binding, class: 'request', attributes: [['SOFTWARE', 'a'.repeat(764)]] });
    assert.throws(() => encodeStunMessage(byHand), (e) => e instanceof StunEncodeError && e.code === 'VALUE_LENGTH');
  });

  it('XOR-MAPPED-ADDRESS with a reserved first byte stays right under another transaction ID', () => {
    const original = encodeStunMessage(
      createStunMessage({ method: StunMethod.Binding, class: 'success', attributes: [['XOR-MAPPED-ADDRESS', { address: '2001:db8::7', port: 4242 }]] }),
    );
    original[20 + 4] = 0x5a; // the reserved byte
    const attribute = only(original);
    assert.ok(attribute.name === 'XOR-MAPPED-ADDRESS' && attribute.raw !== undefined);
    assert.equal(hex(encodeStunMessage(decodeStunMessage(original))), hex(original));
    const moved = encodeStunMessage(createStunMessage({ method: StunMethod.Binding, class: 'success', attributes: [attribute] }));
    assert.notEqual(hex(moved.subarray(8, 20)), hex(original.subarray(8, 20)), 'a new transaction ID');
    assert.deepEqual(only(moved).value, { address: '2001:db8::7', port: 4242 });
    assert.equal(moved[24], 0x5a, 'the reserved byte travels with it');
  });

  it('a value that gives its bytes back keeps no copy of them', () => {
    for (const bytes of VECTORS) {
      for (const a of decodeStunMessage(bytes).attributes) assert.equal(a.name !== undefined && a.raw !== undefined, false, a.name);
    }
  });

  it('attributes after MESSAGE-INTEGRITY go back to their places; a caller’s out-of-order places are refused', () => {
    const signed = encodeStunMessage(createStunMessage({ method: StunMethod.Binding, class: 'request', attributes: [['PRIORITY', 1]] }), {
      integrity: { key: new Uint8Array([1]) },
    });
    // PRIORITY, MESSAGE-INTEGRITY, then USERNAME and an unknown type that RFC 8489 §9 says to ignore, then FINGERPRINT.
    const tail = [0x00, 0x06, 0x00, 0x01, 0x78, 0x01, 0x02, 0x03, 0x80, 0x55, 0x00, 0x00];
    const unsigned = new Uint8Array(signed.length + tail.length);
    unsigned.set(signed);
    unsigned.set(tail, signed.length);
    new DataView(unsigned.buffer).setUint16(2, unsigned.length - 20);
    const withFingerprint = encodeStunMessage(decodeStunMessage(unsigned), { fingerprint: true });
    const message = decodeStunMessage(withFingerprint);
    assert.deepEqual(message.ignoredAttributes.map((a) => [a.type, a.before]), [[0x0006, 2], [0x8055, 2]]);
    assert.deepEqual(message.attributes.map((a) => a.name), ['PRIORITY', 'MESSAGE-INTEGRITY', 'FINGERPRINT']);
    assert.equal(hex(encodeStunMessage(message)), hex(withFingerprint));
    const bad = { ...message, attributes: message.attributes, ignoredAttributes: [...message.ignoredAttributes].reverse().map((a, i) => ({ ...a, before: 2 - i })) };
    assert.throws(() => encodeStunMessage(bad), (e) => e instanceof StunEncodeError && e.code === 'VALUE_RANGE');
  });
});
