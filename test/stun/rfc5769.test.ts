import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HmacSha1, toHex } from '../../src/crypto/index.js';
import {
  StunMethod,
  decodeStunMessage,
  describeStunMessage,
  encodeStunMessage,
  longTermKey,
  shortTermKey,
  verifyMessageIntegrity,
} from '../../src/stun/index.js';
import { SAMPLE_IPV4_RESPONSE, SAMPLE_IPV6_RESPONSE, SAMPLE_LONG_TERM_REQUEST, SAMPLE_REQUEST } from './vectors.js';

const names = (bytes: Uint8Array): (string | undefined)[] => decodeStunMessage(bytes).attributes.map((a) => a.name);

describe('RFC 5769 §2.1 sample request', () => {
  const v = SAMPLE_REQUEST;
  const message = decodeStunMessage(v.bytes);

  it('decodes every attribute', () => {
    assert.equal(message.method, StunMethod.Binding);
    assert.equal(message.class, 'request');
    assert.equal(message.hasMagicCookie, true);
    assert.equal(toHex(message.transactionId), v.transactionId);
    assert.deepEqual(names(v.bytes), ['SOFTWARE', 'PRIORITY', 'ICE-CONTROLLED', 'USERNAME', 'MESSAGE-INTEGRITY', 'FINGERPRINT']);
    assert.equal(message.get('SOFTWARE'), v.software);
    assert.equal(message.get('PRIORITY'), v.priority);
    assert.equal(message.get('ICE-CONTROLLED'), v.iceControlled);
    assert.equal(message.get('USERNAME'), v.username);
    assert.equal(toHex(message.get('MESSAGE-INTEGRITY')!), '9aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a2');
    assert.equal(message.get('FINGERPRINT'), 0xe57a3bcf);
    assert.deepEqual(message.unknownComprehensionRequired, []);
  });

  it('verifies MESSAGE-INTEGRITY with the password, with a raw key and a pre-keyed HMAC', () => {
    assert.equal(verifyMessageIntegrity(message, shortTermKey(v.password)), true);
    assert.equal(verifyMessageIntegrity(message, new HmacSha1(shortTermKey(v.password))), true);
    assert.equal(verifyMessageIntegrity(message, shortTermKey('wrong')), false);
    assert.equal(toHex(message.raw!), toHex(v.bytes), 'verification leaves the bytes as they were');
  });

  it('re-encodes byte-exact, recomputing MESSAGE-INTEGRITY and FINGERPRINT', () => {
    const bytes = encodeStunMessage(message, { integrity: { key: shortTermKey(v.password) }, fingerprint: true });
    assert.equal(toHex(bytes), toHex(v.bytes));
  });

  it('re-encodes byte-exact from the stored values without a key', () => {
    assert.equal(toHex(encodeStunMessage(message)), toHex(v.bytes));
  });

  it('builds the same bytes from scratch when padded the same way', () => {
    const built = decodeStunMessage(v.bytes).attributes.filter((a) => a.name !== 'MESSAGE-INTEGRITY' && a.name !== 'FINGERPRINT');
    const bytes = encodeStunMessage(
      { method: StunMethod.Binding, class: 'request', transactionId: message.transactionId, attributes: built },
      { integrity: { key: shortTermKey(v.password) }, fingerprint: true },
    );
    assert.equal(toHex(bytes), toHex(v.bytes));
  });

  it('describes itself for the CLI', () => {
    const d = describeStunMessage(message);
    assert.equal(d.method, 'Binding');
    assert.equal(d.transactionId, v.transactionId);
    assert.deepEqual(d.attributes[2], { type: '0x8029', name: 'ICE-CONTROLLED', value: v.iceControlled.toString() });
    assert.deepEqual(d.attributes[5], { type: '0x8028', name: 'FINGERPRINT', value: '0xe57a3bcf' });
    JSON.stringify(d);
  });
});

for (const [section, v] of [
  ['§2.2 sample IPv4 response', SAMPLE_IPV4_RESPONSE],
  ['§2.3 sample IPv6 response', SAMPLE_IPV6_RESPONSE],
] as const) {
  describe(`RFC 5769 ${section}`, () => {
    const message = decodeStunMessage(v.bytes);

    it('decodes every attribute', () => {
      assert.equal(message.method, StunMethod.Binding);
      assert.equal(message.class, 'success');
      assert.equal(toHex(message.transactionId), v.transactionId);
      assert.deepEqual(names(v.bytes), ['SOFTWARE', 'XOR-MAPPED-ADDRESS', 'MESSAGE-INTEGRITY', 'FINGERPRINT']);
      assert.equal(message.get('SOFTWARE'), v.software);
      assert.deepEqual(message.get('XOR-MAPPED-ADDRESS'), v.mappedAddress);
    });

    it('verifies MESSAGE-INTEGRITY', () => {
      assert.equal(verifyMessageIntegrity(message, shortTermKey(v.password)), true);
      assert.equal(verifyMessageIntegrity(message, shortTermKey(`${v.password}x`)), false);
    });

    it('re-encodes byte-exact with the key', () => {
      const bytes = encodeStunMessage(message, { integrity: { key: shortTermKey(v.password) }, fingerprint: true });
      assert.equal(toHex(bytes), toHex(v.bytes));
    });

    it('describes the address as text', () => {
      const text = v.mappedAddress.address.includes(':') ? `[${v.mappedAddress.address}]:32853` : `${v.mappedAddress.address}:32853`;
      assert.equal(describeStunMessage(message).attributes[1].value, text);
    });
  });
}

describe('RFC 5769 §2.4 sample request with long-term authentication', () => {
  const v = SAMPLE_LONG_TERM_REQUEST;
  const message = decodeStunMessage(v.bytes);
  const key = longTermKey(v.username, v.realm, v.password);

  it('decodes every attribute', () => {
    assert.equal(message.method, StunMethod.Binding);
    assert.equal(message.class, 'request');
    assert.equal(toHex(message.transactionId), v.transactionId);
    assert.deepEqual(names(v.bytes), ['USERNAME', 'NONCE', 'REALM', 'MESSAGE-INTEGRITY']);
    assert.equal(message.get('USERNAME'), v.username);
    assert.equal(message.get('NONCE'), v.nonce);
    assert.equal(message.get('REALM'), v.realm);
    assert.equal(message.fingerprintOffset, -1);
  });

  it('derives the key as MD5(username:realm:password) and verifies MESSAGE-INTEGRITY', () => {
    assert.equal(key.length, 16);
    assert.equal(verifyMessageIntegrity(message, key), true);
    assert.equal(verifyMessageIntegrity(message, longTermKey(v.username, v.realm, 'TheMatrix')), false);
  });

  it('re-encodes byte-exact with the key', () => {
    assert.equal(toHex(encodeStunMessage(message, { integrity: { key } })), toHex(v.bytes));
  });
});

describe('RFC 8489 §9.2.2 long-term key example', () => {
  it("MD5('user:realm:pass') = 0x8493fbc53ba582fb4c044c456bdc40eb", () => {
    assert.equal(toHex(longTermKey('user', 'realm', 'pass')), '8493fbc53ba582fb4c044c456bdc40eb');
  });
});
