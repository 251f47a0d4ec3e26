import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  generatePassword,
  generateTieBreaker,
  generateUfrag,
  isValidPassword,
  isValidUfrag,
  type RandomFill,
} from '../../src/ice/credentials.js';

const ICE_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const ICE_CHAR_STRING = /^[A-Za-z0-9+/]*$/;

/** A fill that writes 0, 1, 2, … so each output position is known. */
const counting: RandomFill = (bytes) => {
  bytes.forEach((_, i) => (bytes[i] = i & 0xff));
  return bytes;
};

describe('generateUfrag / generatePassword (RFC 8445 §5.3, RFC 8839 §5.4)', () => {
  it('default to 4 and 22 ice-chars: 24 and 132 random bits', () => {
    assert.equal(generateUfrag().length, 4);
    assert.equal(generatePassword().length, 22);
    assert.match(generateUfrag(), ICE_CHAR_STRING);
    assert.match(generatePassword(), ICE_CHAR_STRING);
  });

  it('produce what isValidUfrag and isValidPassword accept, at every allowed length', () => {
    for (let n = 4; n <= 32; n++) assert.ok(isValidUfrag(generateUfrag(n)), `ufrag of ${n}`);
    for (let n = 22; n <= 256; n += 17) assert.ok(isValidPassword(generatePassword(n)), `pwd of ${n}`);
    assert.equal(generatePassword(256).length, 256);
  });

  it('refuse lengths below the minimum randomness, above the send limit, or not integers', () => {
    for (const n of [0, 3, 33, 4.5, Number.NaN]) assert.throws(() => generateUfrag(n), RangeError, String(n));
    for (const n of [0, 21, 257, 22.5]) assert.throws(() => generatePassword(n), RangeError, String(n));
  });

  it('map each random byte to one ice-char, every symbol reachable', () => {
    assert.equal(generatePassword(64, counting), ICE_CHARS);
    assert.equal(generateUfrag(4, (b) => b.fill(0)), 'AAAA');
    assert.equal(generateUfrag(4, (b) => b.fill(255)), '////');
    // 256 byte values, 64 symbols: each symbol from exactly four byte values — unbiased without rejection.
    assert.equal(generatePassword(256, counting), ICE_CHARS.repeat(4));
  });

  it('look uniform: chi-square over 128 000 characters, and no repeats', () => {
    const counts = new Map<string, number>();
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const pwd = generatePassword(256);
      seen.add(pwd);
      for (const ch of pwd) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    }
    assert.equal(seen.size, 500);
    assert.equal(counts.size, 64);
    const expected = (500 * 256) / 64;
    let chi2 = 0;
    for (const ch of ICE_CHARS) chi2 += ((counts.get(ch) ?? 0) - expected) ** 2 / expected;
    // 63 degrees of freedom: P(χ² > 135) < 1e-6. A byte % 62 mapping gives χ² in the hundreds.
    assert.ok(chi2 < 135, `χ² = ${chi2.toFixed(1)}`);
    const ufrags = new Set(Array.from({ length: 1000 }, () => generateUfrag()));
    // 1000 draws from 2^24: about 0.03 collisions expected; six or more is practically impossible.
    assert.ok(ufrags.size >= 995, 'ufrags repeat far more than 24 bits allow');
  });
});

describe('isValidUfrag / isValidPassword (RFC 8839 §5.4)', () => {
  it('accept 4..256 and 22..256 ice-chars', () => {
    assert.ok(isValidUfrag('8hhY'));
    assert.ok(isValidUfrag('a+/9'));
    assert.ok(isValidUfrag('x'.repeat(256)));
    assert.ok(isValidPassword('asd88fgpdd777uzjYhagZg'));
    assert.ok(isValidPassword('p'.repeat(256)));
  });

  it('refuse other lengths and characters', () => {
    for (const u of ['', 'abc', 'x'.repeat(257), 'ab-c', 'ab c', 'abc=', 'abcé', 'abc\n']) assert.ok(!isValidUfrag(u), JSON.stringify(u));
    for (const p of ['asd88fgpdd777uzjYhagZ', 'p'.repeat(257), 'asd88fgpdd777uzjYhagZ_', 'asd88fgpdd777uzjYhag:g']) {
      assert.ok(!isValidPassword(p), JSON.stringify(p));
    }
    for (const v of [undefined, null, 1234, ['abcd']]) {
      assert.ok(!isValidUfrag(v));
      assert.ok(!isValidPassword(v));
    }
  });
});

describe('generateTieBreaker (RFC 8445 §7.1.1)', () => {
  it('is the 64-bit big-endian value of 8 random bytes', () => {
    const fixed: RandomFill = (b) => {
      b.set([1, 2, 3, 4, 5, 6, 7, 8]);
      return b;
    };
    assert.equal(generateTieBreaker(fixed), 0x0102030405060708n);
    assert.equal(generateTieBreaker((b) => b.fill(0xff)), 2n ** 64n - 1n);
    assert.equal(generateTieBreaker((b) => b.fill(0)), 0n);
  });

  it('uses all 64 bits', () => {
    let or = 0n;
    let and = 2n ** 64n - 1n;
    const seen = new Set<bigint>();
    for (let i = 0; i < 200; i++) {
      const t = generateTieBreaker();
      assert.ok(t >= 0n && t < 2n ** 64n);
      or |= t;
      and &= t;
      seen.add(t);
    }
    assert.equal(or, 2n ** 64n - 1n);
    assert.equal(and, 0n);
    assert.equal(seen.size, 200);
  });
});
