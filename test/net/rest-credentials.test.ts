import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { mintRestCredential, verifyRestCredential } from '../../src/net/rest-credentials.js';

describe('TURN REST API credentials', () => {
  it('mints "<expiry>:<user>" and base64(HMAC-SHA1(secret, username)), as coturn expects', () => {
    const c = mintRestCredential({ secret: 'north', user: 'mbzrxpgjys', ttlSeconds: 86_400, nowSeconds: 1_700_000_000.9 });
    assert.equal(c.username, '1700086400:mbzrxpgjys');
    assert.equal(c.credential, createHmac('sha1', 'north').update(c.username).digest('base64'));
  });

  it('verifies what it mints, until the expiry', () => {
    const c = mintRestCredential({ secret: 's', user: 'u:with:colons', ttlSeconds: 60, nowSeconds: 1000 });
    assert.deepEqual(verifyRestCredential('s', c.username, c.credential, 1000), { ok: true, user: 'u:with:colons', expiresAt: 1060 });
    assert.deepEqual(verifyRestCredential('s', c.username, c.credential, 1059.5), { ok: true, user: 'u:with:colons', expiresAt: 1060 });
    assert.deepEqual(verifyRestCredential('s', c.username, c.credential, 1060), { ok: false, reason: 'expired' });
  });

  it('refuses a wrong secret, an altered username or credential as bad-signature', () => {
    const c = mintRestCredential({ secret: 's', user: 'alice', ttlSeconds: 60, nowSeconds: 1000 });
    assert.deepEqual(verifyRestCredential('t', c.username, c.credential, 1000), { ok: false, reason: 'bad-signature' });
    assert.deepEqual(verifyRestCredential('s', '9999:alice', c.credential, 1000), { ok: false, reason: 'bad-signature' });
    assert.deepEqual(verifyRestCredential('s', c.username, c.credential.replace(/^./, (x) => (x === 'A' ? 'B' : 'A')), 1000), { ok: false, reason: 'bad-signature' });
    // An expired token with a bad signature is a bad signature: "expired" is only said of our own tokens.
    assert.deepEqual(verifyRestCredential('t', c.username, c.credential, 5000), { ok: false, reason: 'bad-signature' });
  });

  it('refuses malformed usernames and credentials', () => {
    for (const username of ['', ':alice', 'soon:alice', '-5:alice', '1e9:alice', ' 100:alice', '1234567890123:alice', `1:${'x'.repeat(600)}`]) {
      assert.deepEqual(verifyRestCredential('s', username, 'AAAA', 0), { ok: false, reason: 'malformed' }, username);
    }
    assert.deepEqual(verifyRestCredential('s', '100:a', '', 0), { ok: false, reason: 'malformed' });
    assert.deepEqual(verifyRestCredential('s', '100:a', 'A'.repeat(100), 0), { ok: false, reason: 'malformed' });
  });

  it('accepts a bare expiry (the user part is optional in the draft) and byte secrets', () => {
    const secret = new Uint8Array([1, 2, 3]);
    const credential = createHmac('sha1', secret).update('2000').digest('base64');
    assert.deepEqual(verifyRestCredential(secret, '2000', credential, 1999), { ok: true, user: '', expiresAt: 2000 });
  });

  it('rejects a non-positive or fractional ttl', () => {
    for (const ttlSeconds of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => mintRestCredential({ secret: 's', user: 'u', ttlSeconds, nowSeconds: 0 }), RangeError);
    }
  });

  it('refuses a missing or empty secret and a user that is not text (it minted "<expiry>:undefined")', () => {
    for (const secret of [undefined, '', new Uint8Array(0), 5]) {
      assert.throws(() => mintRestCredential({ secret, user: 'u', ttlSeconds: 60 } as never), { name: 'TypeError', message: /^secret must be/ });
    }
    for (const user of [undefined, 7, null]) {
      assert.throws(() => mintRestCredential({ secret: 's', user, ttlSeconds: 60 } as never), { name: 'TypeError', message: /^user must be a string/ });
    }
  });

  it('round-trips for any secret, user and time', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ maxLength: 100 }), fc.integer({ min: 1, max: 1e7 }), fc.integer({ min: 0, max: 4e9 }), (secret, user, ttl, now) => {
        const c = mintRestCredential({ secret, user, ttlSeconds: ttl, nowSeconds: now });
        const check = verifyRestCredential(secret, c.username, c.credential, now);
        assert.ok(check.ok && check.user === user && check.expiresAt === now + ttl);
        assert.equal(c.credential, createHmac('sha1', Buffer.from(new TextEncoder().encode(secret))).update(Buffer.from(new TextEncoder().encode(c.username))).digest('base64'));
      }),
      { numRuns: 300 },
    );
  });
});
