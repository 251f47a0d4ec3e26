import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { toHex } from '../../src/crypto/index.js';
import { formatIp } from '../../src/net/ip.js';
import type { TransportAddress } from '../../src/net/transport-address.js';
import {
  STUN_ATTRIBUTES,
  StunEncodeError,
  StunMethod,
  StunParseError,
  createStunMessage,
  decodeStunMessage,
  encodeStunMessage,
  longTermKey,
  userHash,
  verifyMessageIntegritySha256,
  type StunAttributeEntry,
  type StunAttributeName,
  type StunAttributeValues,
  type StunEncodeErrorCode,
} from '../../src/stun/index.js';
import { SAMPLE_SHA256_REQUEST, SAMPLE_SHA256_REQUEST_CORRECTED } from './vectors.js';

const utf8Length = (s: string): number => new TextEncoder().encode(s).length;
const text = (maxBytes: number, maxLength = 120): fc.Arbitrary<string> =>
  fc.string({ unit: 'binary', maxLength }).filter((s) => utf8Length(s) <= maxBytes);
const ipv4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map(formatIp);
const ipv6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map(formatIp);
const transportAddress: fc.Arbitrary<TransportAddress> = fc.record({
  address: fc.oneof(ipv4, ipv6, fc.constantFrom('::', '::1', '::ffff:192.0.2.1', '2001:db8::1', '0.0.0.0')),
  port: fc.integer({ min: 0, max: 0xffff }),
}, { noNullPrototype: true });
const bytes = (min: number, max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: min, maxLength: max });
const uint32 = fc.integer({ min: 0, max: 0xffffffff });
const uint16 = fc.integer({ min: 0, max: 0xffff });
const family = fc.constantFrom('IPv4' as const, 'IPv6' as const);
const errorCode = fc.integer({ min: 300, max: 699 });
/** Reason phrases lose trailing NULs on decode (servers' padding, see structured-attributes.ts), so none are generated. */
const reasonText = text(763).map((s) => s.replace(/\0+$/, ''));
const algorithm = fc.record({ algorithm: uint16, parameters: bytes(0, 40) }, { noNullPrototype: true });

/** One arbitrary per attribute in the table: the type checker insists every name has one. */
const arbitraries: { [N in StunAttributeName]: fc.Arbitrary<StunAttributeValues[N]> } = {
  'MAPPED-ADDRESS': transportAddress,
  'XOR-MAPPED-ADDRESS': transportAddress,
  'ALTERNATE-SERVER': transportAddress,
  'XOR-PEER-ADDRESS': transportAddress,
  'XOR-RELAYED-ADDRESS': transportAddress,
  'RESPONSE-ORIGIN': transportAddress,
  'OTHER-ADDRESS': transportAddress,
  USERNAME: text(513),
  REALM: text(763),
  NONCE: text(763),
  SOFTWARE: text(763),
  'ALTERNATE-DOMAIN': text(255, 60),
  USERHASH: bytes(32, 32),
  'MESSAGE-INTEGRITY': bytes(20, 20),
  'MESSAGE-INTEGRITY-SHA256': fc.integer({ min: 4, max: 8 }).chain((n) => bytes(4 * n, 4 * n)),
  FINGERPRINT: uint32,
  'ERROR-CODE': fc.record({ code: errorCode, reason: reasonText }, { noNullPrototype: true }),
  'PASSWORD-ALGORITHMS': fc.array(algorithm, { maxLength: 5 }),
  'PASSWORD-ALGORITHM': algorithm,
  'UNKNOWN-ATTRIBUTES': fc.array(uint16, { maxLength: 20 }),
  PRIORITY: uint32,
  'USE-CANDIDATE': fc.constant(true as const),
  'ICE-CONTROLLED': fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  'ICE-CONTROLLING': fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  'CHANNEL-NUMBER': uint16,
  LIFETIME: uint32,
  DATA: bytes(0, 1500),
  'REQUESTED-ADDRESS-FAMILY': family,
  'EVEN-PORT': fc.record({ reservePort: fc.boolean() }, { noNullPrototype: true }),
  'REQUESTED-TRANSPORT': fc.integer({ min: 0, max: 255 }),
  'DONT-FRAGMENT': fc.constant(true as const),
  'RESERVATION-TOKEN': bytes(8, 8),
  'ADDITIONAL-ADDRESS-FAMILY': family,
  'ADDRESS-ERROR-CODE': fc.record({ family, code: errorCode, reason: reasonText }, { noNullPrototype: true }),
  ICMP: fc.record({ type: fc.integer({ min: 0, max: 255 }), code: fc.integer({ min: 0, max: 255 }), data: uint32 }, { noNullPrototype: true }),
  'CONNECTION-ID': uint32,
  NOMINATION: uint32,
  'CHANGE-REQUEST': fc.record({ changeIp: fc.boolean(), changePort: fc.boolean() }, { noNullPrototype: true }),
  'RESPONSE-PORT': uint16,
  PADDING: bytes(0, 600),
};

const transactionId = bytes(12, 12);
const stunClass = fc.constantFrom('request' as const, 'indication' as const, 'success' as const, 'error' as const);

describe('attribute table', () => {
  it('has one row per type and per name, with names matching StunAttributeValues', () => {
    const types = new Set(STUN_ATTRIBUTES.map((r) => r.type));
    const names = new Set(STUN_ATTRIBUTES.map((r) => r.name));
    assert.equal(types.size, STUN_ATTRIBUTES.length);
    assert.equal(names.size, STUN_ATTRIBUTES.length);
    assert.deepEqual([...names].sort(), Object.keys(arbitraries).sort());
  });
});

describe('attribute round trips (encode, decode, re-encode byte-exact)', () => {
  for (const r of STUN_ATTRIBUTES) {
    const name = r.name as StunAttributeName;
    it(`${name} (0x${r.type.toString(16).padStart(4, '0')})`, () => {
      fc.assert(
        fc.property(arbitraries[name] as fc.Arbitrary<unknown>, transactionId, stunClass, fc.integer({ min: 0, max: 0xfff }), (value, id, cls, method) => {
          const message = createStunMessage({
            method,
            class: cls,
            transactionId: id,
            attributes: [[0xc0ff, new Uint8Array([1, 2, 3])], [name, value] as StunAttributeEntry],
          });
          // A FINGERPRINT is checked on decode, so it is computed rather than taken from the arbitrary.
          const options = name === 'FINGERPRINT' ? { fingerprint: true } : undefined;
          const encoded = encodeStunMessage(message, options);
          const decoded = decodeStunMessage(encoded);
          assert.equal(decoded.method, method);
          assert.equal(decoded.class, cls);
          assert.deepEqual(decoded.transactionId, id);
          assert.equal(decoded.attributes.length, 2);
          assert.equal(decoded.attributes[1].type, r.type);
          if (name !== 'FINGERPRINT') assert.deepEqual(decoded.get(name), value);
          assert.deepEqual(encodeStunMessage(decoded), encoded);
        }),
        { numRuns: 200 },
      );
    });
  }
});

describe('XOR addresses', () => {
  it('XOR the port with the top of the cookie and the address with cookie and transaction ID', () => {
    const id = new Uint8Array(12).fill(0x11);
    const message = createStunMessage({
      method: StunMethod.Binding,
      class: 'success',
      transactionId: id,
      attributes: [
        ['XOR-MAPPED-ADDRESS', { address: '0.0.0.0', port: 0 }],
        ['XOR-MAPPED-ADDRESS', { address: '::', port: 0 }],
      ],
    });
    const hex = toHex(encodeStunMessage(message));
    assert.equal(hex.slice(40, 64), '00200008000121122112a442');
    assert.equal(hex.slice(64), `00200014000221122112a442${'11'.repeat(12)}`);
  });

  it('stay raw in an RFC 3489 message, whose cookie is part of the transaction ID', () => {
    const encoded = encodeStunMessage(
      createStunMessage({
        method: StunMethod.Binding,
        class: 'success',
        transactionId: new Uint8Array(12),
        attributes: [['MAPPED-ADDRESS', { address: '192.0.2.1', port: 9 }], [0x0020, new Uint8Array(8)]],
        cookie: 0x01020304,
      }),
    );
    const decoded = decodeStunMessage(encoded);
    assert.equal(decoded.hasMagicCookie, false);
    assert.equal(decoded.cookie, 0x01020304);
    assert.deepEqual(decoded.get('MAPPED-ADDRESS'), { address: '192.0.2.1', port: 9 });
    assert.equal(decoded.attributes[1].name, undefined);
    assert.equal(decoded.get('XOR-MAPPED-ADDRESS'), undefined);
    assert.deepEqual(decoded.unknownComprehensionRequired, []);
    assert.deepEqual(encodeStunMessage(decoded), encoded);
  });
});

describe('encoder errors', () => {
  const cases: [StunAttributeName, unknown, StunEncodeErrorCode][] = [
    ['XOR-MAPPED-ADDRESS', { address: '192.0.2.1', port: 65536 }, 'VALUE_RANGE'],
    ['XOR-MAPPED-ADDRESS', { address: '192.0.2.1', port: -1 }, 'VALUE_RANGE'],
    ['XOR-MAPPED-ADDRESS', { address: '192.0.2.1', port: 1.5 }, 'VALUE_RANGE'],
    ['MAPPED-ADDRESS', { address: 'example.org', port: 1 }, 'ADDRESS'],
    ['MAPPED-ADDRESS', { address: '1.2.3.256', port: 1 }, 'ADDRESS'],
    ['MAPPED-ADDRESS', '1.2.3.4:5', 'VALUE_TYPE'],
    ['USERNAME', 'u'.repeat(514), 'VALUE_LENGTH'],
    ['USERNAME', 42, 'VALUE_TYPE'],
    ['REALM', '\u00e9'.repeat(382), 'VALUE_LENGTH'],
    ['SOFTWARE', 's'.repeat(764), 'VALUE_LENGTH'],
    ['ALTERNATE-DOMAIN', 'd'.repeat(256), 'VALUE_LENGTH'],
    ['ERROR-CODE', { code: 299, reason: '' }, 'VALUE_RANGE'],
    ['ERROR-CODE', { code: 700, reason: '' }, 'VALUE_RANGE'],
    ['ERROR-CODE', { code: 400, reason: 'r'.repeat(764) }, 'VALUE_LENGTH'],
    ['ERROR-CODE', { code: 400 }, 'VALUE_TYPE'],
    ['ADDRESS-ERROR-CODE', { family: 'IPv5', code: 440, reason: '' }, 'VALUE_TYPE'],
    ['USERHASH', new Uint8Array(31), 'VALUE_LENGTH'],
    ['MESSAGE-INTEGRITY', new Uint8Array(21), 'VALUE_LENGTH'],
    ['MESSAGE-INTEGRITY-SHA256', new Uint8Array(18), 'VALUE_LENGTH'],
    ['MESSAGE-INTEGRITY-SHA256', new Uint8Array(36), 'VALUE_LENGTH'],
    ['RESERVATION-TOKEN', new Uint8Array(7), 'VALUE_LENGTH'],
    ['DATA', 'not bytes', 'VALUE_TYPE'],
    ['PRIORITY', 2 ** 32, 'VALUE_RANGE'],
    ['PRIORITY', 1n, 'VALUE_TYPE'],
    ['LIFETIME', -1, 'VALUE_RANGE'],
    ['ICE-CONTROLLING', 1 << 30, 'VALUE_TYPE'],
    ['ICE-CONTROLLED', 1n << 64n, 'VALUE_RANGE'],
    ['ICE-CONTROLLED', -1n, 'VALUE_RANGE'],
    ['CHANNEL-NUMBER', 0x10000, 'VALUE_RANGE'],
    ['RESPONSE-PORT', 70000, 'VALUE_RANGE'],
    ['REQUESTED-TRANSPORT', 256, 'VALUE_RANGE'],
    ['REQUESTED-ADDRESS-FAMILY', 'ipv4', 'VALUE_TYPE'],
    ['USE-CANDIDATE', false, 'VALUE_TYPE'],
    ['UNKNOWN-ATTRIBUTES', [0x10000], 'VALUE_RANGE'],
    ['PASSWORD-ALGORITHMS', [{ algorithm: 1 }], 'VALUE_TYPE'],
    ['PASSWORD-ALGORITHM', { algorithm: 0x10000, parameters: new Uint8Array() }, 'VALUE_RANGE'],
    ['ICMP', { type: 256, code: 0, data: 0 }, 'VALUE_RANGE'],
    ['EVEN-PORT', null, 'VALUE_TYPE'],
  ];
  for (const [name, value, code] of cases) {
    it(`${name} ${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))?.slice(0, 50)} -> ${code}`, () => {
      const message = createStunMessage({ method: 1, class: 'request', attributes: [[name, value] as StunAttributeEntry] });
      assert.throws(
        () => encodeStunMessage(message),
        (e: unknown) => e instanceof StunEncodeError && e instanceof TypeError && e.code === code && e.message.includes(name),
      );
    });
  }

  it('rejects unknown names, bad headers, XOR without cookie and oversize messages', () => {
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return e instanceof StunEncodeError ? e.code : 'other';
      }
      return undefined;
    };
    assert.equal(code(() => createStunMessage({ method: 1, class: 'request', attributes: [['NOPE' as 'DATA', new Uint8Array()]] })), 'UNKNOWN_NAME');
    assert.equal(code(() => createStunMessage({ method: 0x1000, class: 'request' })), 'HEADER');
    assert.equal(code(() => createStunMessage({ method: 1, class: 'reply' as 'request' })), 'HEADER');
    assert.equal(code(() => createStunMessage({ method: 1, class: 'request', transactionId: new Uint8Array(16) })), 'HEADER');
    assert.equal(
      code(() =>
        encodeStunMessage(
          createStunMessage({ method: 1, class: 'success', cookie: 1, attributes: [['XOR-MAPPED-ADDRESS', { address: '1.2.3.4', port: 1 }]] }),
        ),
      ),
      'XOR_WITHOUT_COOKIE',
    );
    const big = new Uint8Array(40000);
    assert.equal(code(() => encodeStunMessage(createStunMessage({ method: 1, class: 'request', attributes: [['DATA', big], ['PADDING', big]] }))), 'MESSAGE_TOO_LONG');
    assert.equal(code(() => encodeStunMessage(createStunMessage({ method: 1, class: 'request' }), { integritySha256: { key: new Uint8Array(1), length: 18 } })), 'VALUE_LENGTH');
  });
});

describe('attribute decode errors', () => {
  /** A Binding request carrying one attribute with the given header and value bytes. */
  const withAttribute = (type: number, value: number[]): Uint8Array => {
    const padded = (value.length + 3) & ~3;
    const out = new Uint8Array(20 + 4 + padded);
    const view = new DataView(out.buffer);
    view.setUint16(0, 0x0001);
    view.setUint16(2, 4 + padded);
    view.setUint32(4, 0x2112a442);
    view.setUint16(20, type);
    view.setUint16(22, value.length);
    out.set(value, 24);
    return out;
  };
  const cases: [string, number, number[], string][] = [
    ['XOR-MAPPED-ADDRESS', 0x0020, [0, 1, 0, 0, 0, 0], 'ATTR_LENGTH at 20: XOR-MAPPED-ADDRESS length 6, need 8'],
    ['XOR-MAPPED-ADDRESS', 0x0020, [0, 2, 0, 0, 0, 0, 0, 0], 'ATTR_LENGTH at 20: XOR-MAPPED-ADDRESS length 8, need 20'],
    ['MAPPED-ADDRESS', 0x0001, [0, 3, 0, 0, 0, 0, 0, 0], 'ATTR_VALUE at 20: MAPPED-ADDRESS family 3, need 1 (IPv4) or 2 (IPv6)'],
    ['PRIORITY', 0x0024, [0, 0, 1], 'ATTR_LENGTH at 20: PRIORITY length 3, need 4'],
    ['ICE-CONTROLLING', 0x802a, [0, 0, 0, 0], 'ATTR_LENGTH at 20: ICE-CONTROLLING length 4, need 8'],
    ['USE-CANDIDATE', 0x0025, [0], 'ATTR_LENGTH at 20: USE-CANDIDATE length 1, need 0'],
    ['MESSAGE-INTEGRITY', 0x0008, [0, 0, 0, 0], 'ATTR_LENGTH at 20: MESSAGE-INTEGRITY length 4, need 20'],
    ['MESSAGE-INTEGRITY-SHA256', 0x001c, new Array<number>(18).fill(0), 'ATTR_LENGTH at 20: MESSAGE-INTEGRITY-SHA256 length 18, need 16..32, a multiple of 4'],
    ['ERROR-CODE', 0x0009, [0, 0, 2, 0], 'ATTR_VALUE at 20: ERROR-CODE class 2 number 0 is not a code in 300..699'],
    ['ERROR-CODE', 0x0009, [0, 0, 4], 'ATTR_LENGTH at 20: ERROR-CODE length 3, need at least 4'],
    ['UNKNOWN-ATTRIBUTES', 0x000a, [0, 1, 0], 'ATTR_LENGTH at 20: UNKNOWN-ATTRIBUTES length 3, need a multiple of 2'],
    ['PASSWORD-ALGORITHMS', 0x8002, [0, 1, 0, 8, 0, 0, 0, 0], 'ATTR_VALUE at 20: PASSWORD-ALGORITHMS entry 0 runs past the value (length 8)'],
    ['REQUESTED-ADDRESS-FAMILY', 0x0017, [3, 0, 0, 0], 'ATTR_VALUE at 20: REQUESTED-ADDRESS-FAMILY family 3, need 1 (IPv4) or 2 (IPv6)'],
    ['EVEN-PORT', 0x0018, [0x80, 0], 'ATTR_LENGTH at 20: EVEN-PORT length 2, need 1'],
  ];
  for (const [name, type, value, message] of cases) {
    it(`${name}: ${message}`, () => {
      assert.throws(
        () => decodeStunMessage(withAttribute(type, value)),
        (e: unknown) => e instanceof StunParseError && e.message === message,
      );
    });
  }

  it('decodes text leniently: malformed UTF-8 becomes U+FFFD and lengths past the sending limits are read', () => {
    assert.equal(decodeStunMessage(withAttribute(0x8022, [0x61, 0xff, 0x62])).get('SOFTWARE'), 'a\ufffdb');
    const long = new Array<number>(1000).fill(0x61);
    assert.equal(decodeStunMessage(withAttribute(0x0006, long)).get('USERNAME'), 'a'.repeat(1000));
  });
});

describe('MESSAGE-INTEGRITY-SHA256 and USERHASH (RFC 8489 §14.4, §14.6, Appendix B.1)', () => {
  const v = SAMPLE_SHA256_REQUEST;

  it('computes USERHASH as in Appendix B.1', () => {
    assert.deepEqual(userHash(v.username, v.realm), v.bytes.slice(24, 56));
  });

  it('rejects the Appendix B.1 vector as published: its length field counts the header (errata)', () => {
    assert.throws(() => decodeStunMessage(v.bytes), (e: unknown) => e instanceof StunParseError && e.code === 'LENGTH_MISMATCH');
  });

  it("derives the vector's key as SHA-256(username:realm:password): its HMAC matches over the bytes as published", () => {
    const key = longTermKey(v.username, v.realm, v.password, 'SHA-256');
    const mac = createHmac('sha256', key).update(v.bytes.subarray(0, v.bytes.length - 36)).digest();
    assert.deepEqual(new Uint8Array(mac), v.bytes.subarray(v.bytes.length - 32));
  });

  it('verifies the corrected vector and re-encodes it byte-exact', () => {
    const corrected = SAMPLE_SHA256_REQUEST_CORRECTED.bytes;
    const message = decodeStunMessage(corrected);
    assert.deepEqual(message.attributes.map((a) => a.name), ['USERHASH', 'NONCE', 'REALM', 'MESSAGE-INTEGRITY-SHA256']);
    assert.deepEqual(message.get('USERHASH'), userHash(v.username, v.realm));
    assert.equal(message.get('NONCE'), v.nonce);
    assert.equal(message.get('REALM'), v.realm);
    const key = longTermKey(v.username, v.realm, v.password, 'SHA-256');
    assert.equal(verifyMessageIntegritySha256(message, key), true);
    assert.equal(verifyMessageIntegritySha256(message, longTermKey(v.username, v.realm, v.password)), false);
    assert.deepEqual(encodeStunMessage(message, { integritySha256: { key } }), corrected);
  });

  it('computes and verifies the attribute, full and truncated', () => {
    const message = decodeStunMessage(SAMPLE_SHA256_REQUEST_CORRECTED.bytes);
    const key = longTermKey(v.username, v.realm, v.password, 'SHA-256');
    for (const length of [16, 20, 24, 28, 32]) {
      const encoded = encodeStunMessage(message, { integritySha256: { key, length }, fingerprint: true });
      const again = decodeStunMessage(encoded);
      assert.equal(verifyMessageIntegritySha256(again, key), true, `length ${length}`);
      assert.equal(verifyMessageIntegritySha256(again, new Uint8Array(32)), false);
      // Independent check with node:crypto: HMAC over everything before the attribute, length ending after it.
      const at = again.integritySha256Offset;
      const input = Buffer.from(encoded.subarray(0, at));
      input.writeUInt16BE(at + 4 + length - 20, 2);
      const expected = createHmac('sha256', key).update(input).digest().subarray(0, length);
      assert.equal(toHex(again.get('MESSAGE-INTEGRITY-SHA256')!), expected.toString('hex'));
    }
  });
});
