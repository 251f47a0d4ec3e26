// mintRestCredential without nowSeconds mints for the current time (Date.now() / 1000).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mintRestCredential, verifyRestCredential } from '../../src/net/rest-credentials.js';

describe('mintRestCredential: nowSeconds defaults to now', () => {
  it('expires ttlSeconds from now and verifies now, and equals a mint with nowSeconds = now', () => {
    const before = Math.floor(Date.now() / 1000);
    const c = mintRestCredential({ secret: 's3cret', user: 'alice', ttlSeconds: 600 });
    const after = Math.floor(Date.now() / 1000);
    const expiry = Number(c.username.split(':')[0]);
    assert.ok(expiry >= before + 600 && expiry <= after + 600, `expiry ${expiry} not ${before}+600..${after}+600`);
    assert.equal(c.username.slice(c.username.indexOf(':') + 1), 'alice');
    const check = verifyRestCredential('s3cret', c.username, c.credential, Date.now() / 1000);
    assert.deepEqual(check, { ok: true, user: 'alice', expiresAt: expiry });
    assert.equal(verifyRestCredential('s3cret', c.username, c.credential, expiry).ok, false, 'expired at its expiry');
    assert.deepEqual(mintRestCredential({ secret: 's3cret', user: 'alice', ttlSeconds: 600, nowSeconds: expiry - 600 }), c);
  });

  it('an explicit nowSeconds still wins, and a bad one is still refused', () => {
    assert.equal(mintRestCredential({ secret: 'k', user: 'u', ttlSeconds: 1, nowSeconds: 1000 }).username, '1001:u');
    assert.throws(() => mintRestCredential({ secret: 'k', user: 'u', ttlSeconds: 1, nowSeconds: -1 }), RangeError);
  });
});
