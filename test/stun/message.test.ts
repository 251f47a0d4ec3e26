import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HmacSha1, toHex } from '../../src/crypto/index.js';
import {
  StunAttributeType,
  StunMethod,
  StunParseError,
  classOfType,
  createStunMessage,
  decodeStunMessage,
  describeStunMessage,
  encodeMessageType,
  encodeStunMessage,
  methodOfType,
  randomTransactionId,
  shortTermKey,
  verifyMessageIntegrity,
  verifyMessageIntegritySha256,
  type StunClass,
} from '../../src/stun/index.js';
import { SAMPLE_REQUEST } from './vectors.js';

const parseError = (bytes: Uint8Array): StunParseError => {
  try {
    decodeStunMessage(bytes);
  } catch (e) {
    if (e instanceof StunParseError) return e;
    throw e;
  }
  throw new Error('decoded');
};

describe('message type (RFC 8489 §5 Figure 3)', () => {
  const cases: [number, StunClass, number][] = [
    [StunMethod.Binding, 'request', 0x0001],
    [StunMethod.Binding, 'success', 0x0101],
    [StunMethod.Binding, 'error', 0x0111],
    [StunMethod.Binding, 'indication', 0x0011],
    [StunMethod.Allocate, 'request', 0x0003],
    [StunMethod.Allocate, 'error', 0x0113],
    [StunMethod.Send, 'indication', 0x0016],
    [StunMethod.Data, 'indication', 0x0017],
    [StunMethod.ChannelBind, 'success', 0x0109],
    [0xfff, 'error', 0x3fff],
  ];
  for (const [method, cls, type] of cases) {
    it(`method 0x${method.toString(16)} ${cls} = 0x${type.toString(16).padStart(4, '0')}`, () => {
      assert.equal(encodeMessageType(method, cls), type);
      assert.equal(methodOfType(type), method);
      assert.equal(classOfType(type), cls);
    });
  }
});

describe('header errors', () => {
  const header = (length: number, total: number, first = 0): Uint8Array => {
    const b = new Uint8Array(total);
    b[0] = first;
    b[1] = 1;
    b[2] = length >> 8;
    b[3] = length & 0xff;
    b.set([0x21, 0x12, 0xa4, 0x42], 4);
    return b;
  };
  it('TRUNCATED below 20 bytes', () => {
    assert.equal(parseError(new Uint8Array(19)).message, 'TRUNCATED at 0: 19 bytes, the STUN header is 20');
  });
  it('NOT_STUN when the top bits are set', () => {
    assert.equal(parseError(header(0, 20, 0x80)).code, 'NOT_STUN');
  });
  it('LENGTH_NOT_ALIGNED', () => {
    assert.equal(parseError(header(6, 26)).message, 'LENGTH_NOT_ALIGNED at 2: message length 6 is not a multiple of 4');
  });
  it('LENGTH_MISMATCH', () => {
    assert.equal(parseError(header(8, 24)).message, 'LENGTH_MISMATCH at 2: message length 8 + 20 header bytes, but 24 bytes received');
  });
  it('ATTR_TRUNCATED', () => {
    const b = header(4, 24);
    b[20] = 0x80;
    b[21] = 0x22;
    b[23] = 1;
    assert.equal(parseError(b).message, 'ATTR_TRUNCATED at 20: SOFTWARE length 1 runs past the end of the message (24 bytes)');
  });
  it('decodes an empty Binding request', () => {
    const message = decodeStunMessage(header(0, 20));
    assert.equal(message.method, 1);
    assert.equal(message.attributes.length, 0);
  });
});

describe('FINGERPRINT', () => {
  it('FINGERPRINT_MISMATCH on any changed bit', () => {
    const b = SAMPLE_REQUEST.bytes.slice();
    b[25] ^= 1; // a SOFTWARE byte, after MESSAGE-INTEGRITY would already fail but the CRC is checked by decode
    const e = parseError(b);
    assert.equal(e.code, 'FINGERPRINT_MISMATCH');
    assert.equal(e.offset, SAMPLE_REQUEST.bytes.length - 8);
  });
  it('FINGERPRINT_NOT_LAST when an attribute follows it', () => {
    const message = decodeStunMessage(SAMPLE_REQUEST.bytes);
    const bytes = encodeStunMessage({ ...message, attributes: [...message.attributes, { type: 0x8055, name: undefined, value: new Uint8Array(4) }] });
    assert.equal(parseError(bytes).code, 'FINGERPRINT_NOT_LAST');
  });
});

describe('attributes after MESSAGE-INTEGRITY (RFC 8489 §9)', () => {
  const key = shortTermKey('pass');

  it('are ignored except MESSAGE-INTEGRITY-SHA256 and FINGERPRINT', () => {
    const message = createStunMessage({
      method: StunMethod.Binding,
      class: 'request',
      attributes: [
        ['USERNAME', 'a:b'],
        ['MESSAGE-INTEGRITY', new Uint8Array(20)],
        ['PRIORITY', 1],
        ['MESSAGE-INTEGRITY-SHA256', new Uint8Array(32)],
        ['USE-CANDIDATE', true],
        ['MESSAGE-INTEGRITY', new Uint8Array(20)],
      ],
    });
    const decoded = decodeStunMessage(encodeStunMessage(message, { integrity: { key }, integritySha256: { key }, fingerprint: true }));
    assert.deepEqual(
      decoded.attributes.map((a) => a.name),
      ['USERNAME', 'MESSAGE-INTEGRITY', 'MESSAGE-INTEGRITY-SHA256', 'FINGERPRINT'],
    );
    assert.deepEqual(
      decoded.ignoredAttributes.map((a) => a.type),
      [StunAttributeType.PRIORITY, StunAttributeType.USE_CANDIDATE, StunAttributeType.MESSAGE_INTEGRITY],
    );
    assert.equal(decoded.get('PRIORITY'), undefined);
    assert.equal(verifyMessageIntegrity(decoded, key), true);
    assert.equal(verifyMessageIntegritySha256(decoded, key), true);
  });

  it('only FINGERPRINT counts after MESSAGE-INTEGRITY-SHA256 alone', () => {
    const bytes = encodeStunMessage(
      createStunMessage({ method: 1, class: 'request', attributes: [['MESSAGE-INTEGRITY-SHA256', new Uint8Array(16)], ['MESSAGE-INTEGRITY', new Uint8Array(20)]] }),
      { fingerprint: true },
    );
    const decoded = decodeStunMessage(bytes);
    assert.deepEqual(decoded.attributes.map((a) => a.name), ['MESSAGE-INTEGRITY-SHA256', 'FINGERPRINT']);
    assert.equal(decoded.integrityOffset, -1);
  });
});

describe('encode options', () => {
  const key = shortTermKey('pw');
  const names = (bytes: Uint8Array): (string | undefined)[] => decodeStunMessage(bytes).attributes.map((a) => a.name);

  it('appends MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 and FINGERPRINT in that order', () => {
    const message = createStunMessage({ method: 1, class: 'request', attributes: [['PRIORITY', 5]] });
    const bytes = encodeStunMessage(message, { fingerprint: true, integritySha256: { key }, integrity: { key: new HmacSha1(key) } });
    assert.deepEqual(names(bytes), ['PRIORITY', 'MESSAGE-INTEGRITY', 'MESSAGE-INTEGRITY-SHA256', 'FINGERPRINT']);
    const decoded = decodeStunMessage(bytes);
    assert.equal(verifyMessageIntegrity(decoded, key), true);
    assert.equal(verifyMessageIntegritySha256(decoded, key), true);
  });

  it('inserts before a FINGERPRINT or MESSAGE-INTEGRITY-SHA256 already in the list', () => {
    const message = createStunMessage({
      method: 1,
      class: 'request',
      attributes: [['PRIORITY', 5], ['MESSAGE-INTEGRITY-SHA256', new Uint8Array(32)], ['FINGERPRINT', 0]],
    });
    const bytes = encodeStunMessage(message, { integrity: { key }, fingerprint: true });
    assert.deepEqual(names(bytes), ['PRIORITY', 'MESSAGE-INTEGRITY', 'MESSAGE-INTEGRITY-SHA256', 'FINGERPRINT']);
    assert.equal(verifyMessageIntegrity(decodeStunMessage(bytes), key), true);
  });

  it('matches a MESSAGE-INTEGRITY computed by hand', () => {
    const message = createStunMessage({ method: 1, class: 'request', transactionId: new Uint8Array(12), attributes: [['USERNAME', 'x']] });
    const withMi = encodeStunMessage(message, { integrity: { key } });
    const withoutMi = encodeStunMessage(message);
    withoutMi[3] += 24; // RFC 8489 §14.5: the length covers the attribute about to be added
    assert.equal(toHex(withMi.subarray(withMi.length - 20)), toHex(new HmacSha1(key).digest(withoutMi)));
  });

  it('verification fails for a created message and for one without MESSAGE-INTEGRITY', () => {
    const message = createStunMessage({ method: 1, class: 'request' });
    assert.equal(verifyMessageIntegrity(message, key), false);
    assert.equal(verifyMessageIntegrity(decodeStunMessage(encodeStunMessage(message)), key), false);
    assert.equal(verifyMessageIntegritySha256(decodeStunMessage(encodeStunMessage(message)), key), false);
  });
});

describe('message access', () => {
  const message = createStunMessage({
    method: StunMethod.Allocate,
    class: 'error',
    attributes: [
      ['ERROR-CODE', { code: 420, reason: 'Unknown Attribute' }],
      ['UNKNOWN-ATTRIBUTES', [0x0002, 0x0031]],
      ['XOR-PEER-ADDRESS', { address: '192.0.2.1', port: 1 }],
      ['XOR-PEER-ADDRESS', { address: '2001:db8::1', port: 2 }],
      [0x0002, new Uint8Array([1, 2, 3])],
      [0xc0de, new Uint8Array([4])],
    ],
  });
  const decoded = decodeStunMessage(encodeStunMessage(message));

  it('get returns the first, getAll every occurrence, has tells presence', () => {
    assert.deepEqual(decoded.get('ERROR-CODE'), { code: 420, reason: 'Unknown Attribute' });
    assert.deepEqual(decoded.get('XOR-PEER-ADDRESS'), { address: '192.0.2.1', port: 1 });
    assert.deepEqual(decoded.getAll('XOR-PEER-ADDRESS'), [
      { address: '192.0.2.1', port: 1 },
      { address: '2001:db8::1', port: 2 },
    ]);
    assert.equal(decoded.has('UNKNOWN-ATTRIBUTES'), true);
    assert.equal(decoded.has('DATA'), false);
    assert.deepEqual(decoded.getAll('DATA'), []);
  });

  it('keeps unknown attributes raw and lists the comprehension-required ones', () => {
    assert.deepEqual(decoded.unknownComprehensionRequired, [0x0002]);
    const raw = decoded.attributes.filter((a) => a.name === undefined);
    assert.deepEqual(raw.map((a) => [a.type, Array.from(a.value as Uint8Array)]), [[0x0002, [1, 2, 3]], [0xc0de, [4]]]);
  });

  it('describes itself as JSON', () => {
    const d = describeStunMessage(decoded);
    assert.equal(d.method, 'Allocate');
    assert.equal(d.class, 'error');
    assert.deepEqual(d.attributes[0], { type: '0x0009', name: 'ERROR-CODE', value: { code: 420, reason: 'Unknown Attribute' } });
    assert.equal(d.attributes[3].value, '[2001:db8::1]:2');
    assert.deepEqual(d.attributes[4], { type: '0x0002', name: 'UNKNOWN', value: '010203' });
    assert.deepEqual(d.unknownComprehensionRequired, ['0x0002']);
    assert.doesNotThrow(() => JSON.stringify(d));
  });

  it('random transaction IDs are 12 fresh bytes', () => {
    const a = randomTransactionId();
    const b = randomTransactionId();
    assert.equal(a.length, 12);
    assert.notDeepEqual(a, b);
    assert.equal(createStunMessage({ method: 1, class: 'request' }).transactionId.length, 12);
  });
});
