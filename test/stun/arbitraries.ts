// fast-check arbitraries for STUN messages, shared by the decoder fuzz test and the round-trip property.
import fc from 'fast-check';
import { formatIp } from '../../src/net/ip.js';
import { STUN_ATTRIBUTES, createStunMessage, encodeStunMessage, type StunAttributeEntry } from '../../src/stun/index.js';
import { SAMPLE_IPV4_RESPONSE, SAMPLE_IPV6_RESPONSE, SAMPLE_LONG_TERM_REQUEST, SAMPLE_REQUEST } from './vectors.js';

export const MAGIC = [0x21, 0x12, 0xa4, 0x42];

/** A known or random attribute type, so inserted attributes hit both the table and the raw path. */
export const attributeType = fc.oneof(fc.constantFrom(...STUN_ATTRIBUTES.map((r) => r.type)), fc.integer({ min: 0, max: 0xffff }));

/**
 * Random attributes (type, value, usually an honest length) behind a header that passes the header checks,
 * so attribute parsing is what gets exercised.
 */
export const plausibleMessage = fc
  .tuple(
    fc.integer({ min: 0, max: 0x3fff }),
    fc.uint8Array({ minLength: 12, maxLength: 12 }),
    fc.boolean(),
    fc.array(fc.tuple(attributeType, fc.uint8Array({ maxLength: 24 }), fc.oneof({ arbitrary: fc.constant(null), weight: 7 }, { arbitrary: fc.integer({ min: 0, max: 0xffff }), weight: 1 })), { maxLength: 6 }),
  )
  .map(([type, id, cookie, attributes]) => {
    const size = attributes.reduce((n, [, value]) => n + 4 + ((value.length + 3) & ~3), 0);
    const out = new Uint8Array(20 + size);
    const view = new DataView(out.buffer);
    view.setUint16(0, type);
    view.setUint16(2, size);
    out.set(cookie ? MAGIC : [1, 2, 3, 4], 4);
    out.set(id, 8);
    let at = 20;
    for (const [attributeType, value, length] of attributes) {
      view.setUint16(at, attributeType);
      view.setUint16(at + 2, length ?? value.length);
      out.set(value, at + 4);
      at += 4 + ((value.length + 3) & ~3);
    }
    return out;
  });

export const entry: fc.Arbitrary<StunAttributeEntry> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 30 }).map((s): StunAttributeEntry => ['USERNAME', s]),
  fc.string({ maxLength: 30 }).map((s): StunAttributeEntry => ['SOFTWARE', s]),
  fc.nat().map((n): StunAttributeEntry => ['PRIORITY', n]),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((n): StunAttributeEntry => ['ICE-CONTROLLING', n]),
  fc.constant<StunAttributeEntry>(['USE-CANDIDATE', true]),
  fc.tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 0xffff })).map(
    ([b, port]): StunAttributeEntry => ['XOR-MAPPED-ADDRESS', { address: formatIp(b), port }],
  ),
  fc.integer({ min: 0, max: 0xffffffff }).map((n): StunAttributeEntry => ['XOR-PEER-ADDRESS', { address: [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.'), port: n & 0xffff }]),
  fc.integer({ min: 300, max: 699 }).map((code): StunAttributeEntry => ['ERROR-CODE', { code, reason: 'why' }]),
  fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 5 }).map((types): StunAttributeEntry => ['UNKNOWN-ATTRIBUTES', types]),
  fc.uint8Array({ maxLength: 50 }).map((b): StunAttributeEntry => ['DATA', b]),
  fc.constant<StunAttributeEntry>(['PASSWORD-ALGORITHMS', [{ algorithm: 1, parameters: new Uint8Array() }, { algorithm: 2, parameters: new Uint8Array(3) }]]),
  fc.constant<StunAttributeEntry>(['EVEN-PORT', { reservePort: true }]),
  fc.constant<StunAttributeEntry>(['REQUESTED-ADDRESS-FAMILY', 'IPv6']),
  fc.constant<StunAttributeEntry>(['ICMP', { type: 3, code: 4, data: 1400 }]),
  fc
    .tuple(fc.integer({ min: 0x8000, max: 0xffff }), fc.uint8Array({ maxLength: 9 }))
    .filter(([t]) => !STUN_ATTRIBUTES.some((r) => r.type === t))
    .map(([t, b]): StunAttributeEntry => [t, b]),
);

export const generatedMessage = fc
  .tuple(fc.integer({ min: 0, max: 0xfff }), fc.constantFrom('request' as const, 'success' as const, 'error' as const, 'indication' as const), fc.array(entry, { maxLength: 8 }), fc.boolean(), fc.boolean(), fc.boolean())
  .map(([method, cls, attributes, mi, mi256, fingerprint]) =>
    encodeStunMessage(createStunMessage({ method, class: cls, attributes }), {
      integrity: mi ? { key: new Uint8Array([1, 2, 3]) } : undefined,
      integritySha256: mi256 ? { key: new Uint8Array([4, 5, 6]), length: 24 } : undefined,
      fingerprint,
    }),
  );

export const validMessage = fc.oneof(
  fc.constantFrom(SAMPLE_REQUEST.bytes, SAMPLE_IPV4_RESPONSE.bytes, SAMPLE_IPV6_RESPONSE.bytes, SAMPLE_LONG_TERM_REQUEST.bytes),
  generatedMessage,
);

/** Offsets of the attribute headers of a well-formed message. */
export function attributeOffsets(bytes: Uint8Array): number[] {
  const offsets: number[] = [];
  for (let at = 20; at + 4 <= bytes.length; at += 4 + (((bytes[at + 2] << 8) | bytes[at + 3]) + 3 & ~3)) offsets.push(at);
  return offsets;
}

export type Mutation = (bytes: Uint8Array) => Uint8Array;

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  // Flip one bit.
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })).map(([i, bit]): Mutation => (b) => {
    const out = b.slice();
    if (out.length > 0) out[i % out.length] ^= 1 << bit;
    return out;
  }),
  // Overwrite a byte.
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([i, v]): Mutation => (b) => {
    const out = b.slice();
    if (out.length > 0) out[i % out.length] = v;
    return out;
  }),
  // Truncate, with or without fixing the length field.
  fc.tuple(fc.nat(), fc.boolean()).map(([n, fix]): Mutation => (b) => {
    const out = b.slice(0, n % (b.length + 1));
    if (fix && out.length >= 4) {
      out[2] = (out.length - 20) >> 8;
      out[3] = (out.length - 20) & 0xff;
    }
    return out;
  }),
  // Edit the message length field.
  fc.integer({ min: 0, max: 0xffff }).map((n): Mutation => (b) => {
    const out = b.slice();
    if (out.length >= 4) {
      out[2] = n >> 8;
      out[3] = n & 0xff;
    }
    return out;
  }),
  // Edit an attribute's length field.
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 0xffff })).map(([k, n]): Mutation => (b) => {
    const offsets = attributeOffsets(b);
    if (offsets.length === 0) return b;
    const out = b.slice();
    const at = offsets[k % offsets.length];
    out[at + 2] = n >> 8;
    out[at + 3] = n & 0xff;
    return out;
  }),
  // Insert a well-framed attribute with random content at an attribute boundary, fixing the message length.
  fc.tuple(fc.nat(), attributeType, fc.uint8Array({ maxLength: 40 }), fc.boolean()).map(([k, type, value, keepLength]): Mutation => (b) => {
    if (b.length < 20) return b;
    const offsets = [...attributeOffsets(b), b.length];
    const at = offsets[k % offsets.length];
    const padded = (value.length + 3) & ~3;
    const out = new Uint8Array(b.length + 4 + padded);
    out.set(b.subarray(0, at));
    out[at] = type >> 8;
    out[at + 1] = type & 0xff;
    out[at + 2] = value.length >> 8;
    out[at + 3] = value.length & 0xff;
    out.set(value, at + 4);
    out.set(b.subarray(at), at + 4 + padded);
    if (!keepLength) {
      out[2] = (out.length - 20) >> 8;
      out[3] = (out.length - 20) & 0xff;
    }
    return out;
  }),
);
