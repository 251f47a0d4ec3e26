import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import {
  sha1, sha256, md5, Sha1State, Sha256State, Md5State,
  hmacSha1, hmacSha256, HmacSha1, HmacSha256,
  crc32, timingSafeEqual,
  utf8Encode, utf8Decode, utf8DecodeStrict,
  toHex, fromHex, toBase64, fromBase64,
} from '../../src/crypto/index.js';
import type { BlockHash } from '../../src/crypto/index.js';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const nodeHash = (alg: string, data: Uint8Array): string => createHash(alg).update(data).digest('hex');
const nodeHmac = (alg: string, key: Uint8Array, data: Uint8Array): string =>
  createHmac(alg, key).update(data).digest('hex');

/** Deterministic bytes, so an exhaustive length sweep needs no generator. */
function pattern(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) | 0;
    out[i] = x >>> 16;
  }
  return out;
}

/** A buffer with `data` in the middle and non-zero bytes around it, to catch reads outside a range. */
function embed(data: Uint8Array, before: number, after: number): Uint8Array {
  const buf = new Uint8Array(before + data.length + after).fill(0xa5);
  buf.set(data, before);
  return buf;
}

/** Lengths next to the 64-byte block and the 56-byte length-field boundary, plus multi-block messages. */
const BOUNDARY_LENGTHS = [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 121, 127, 128, 129, 191, 192, 1000, 4096];
const shortBytes = fc.uint8Array({ maxLength: 300 });
const longBytes = fc.uint8Array({ minLength: 300, maxLength: 4096 });

// zlib.crc32 arrived in Node 20.15 / 22.2; older Nodes get a bitwise reference written from the definition.
const zlibCrc32 = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;
function referenceCrc32(data: Uint8Array): number {
  if (zlibCrc32) return zlibCrc32(data);
  let c = 0xffffffff;
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

interface HashUnderTest {
  name: string;
  fn: (data: Uint8Array) => Uint8Array;
  State: new () => BlockHash;
  vectors: readonly (readonly [string, string])[];
}

const HASHES: readonly HashUnderTest[] = [
  {
    name: 'sha1', fn: sha1, State: Sha1State,
    vectors: [
      // FIPS 180-2 Appendix A.1 and A.2.
      ['abc', 'a9993e364706816aba3e25717850c26c9cd0d89d'],
      ['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', '84983e441c3bd26ebaae4aa1f95129e5e54670f1'],
      ['', 'da39a3ee5e6b4b0d3255bfef95601890afd80709'],
    ],
  },
  {
    name: 'sha256', fn: sha256, State: Sha256State,
    vectors: [
      // FIPS 180-2 Appendix B.1 and B.2.
      ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
      ['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
      ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ],
  },
  {
    name: 'md5', fn: md5, State: Md5State,
    vectors: [
      // RFC 1321 §A.5 test suite.
      ['', 'd41d8cd98f00b204e9800998ecf8427e'],
      ['abc', '900150983cd24fb0d6963f7d28e17f72'],
      ['message digest', 'f96b697d7cb7938d525a2f31aaf161d0'],
      ['12345678901234567890123456789012345678901234567890123456789012345678901234567890', '57edf4a22be3c955ac49da2e2107b67a'],
    ],
  },
];

for (const { name, fn, State, vectors } of HASHES) {
  describe(name, () => {
    it('matches the published test vectors', () => {
      for (const [input, digest] of vectors) assert.equal(toHex(fn(ascii(input))), digest, JSON.stringify(input));
    });

    it('matches node:crypto for every length 0..260 and at block boundaries', () => {
      for (let n = 0; n <= 260; n++) {
        const data = pattern(n, n + 7);
        assert.equal(toHex(fn(data)), nodeHash(name, data), `length ${n}`);
      }
      for (const n of BOUNDARY_LENGTHS) {
        const data = pattern(n, 3);
        assert.equal(toHex(fn(data)), nodeHash(name, data), `length ${n}`);
      }
    });

    it('matches node:crypto on random input', () => {
      const agrees = (data: Uint8Array): void => assert.equal(toHex(fn(data)), nodeHash(name, data));
      fc.assert(fc.property(shortBytes, agrees), { numRuns: 1500 });
      fc.assert(fc.property(longBytes, agrees), { numRuns: 150 });
    });

    it('gives the same digest when fed in arbitrary pieces, and hashes only the given range', () => {
      const state = new State();
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 700 }), fc.array(fc.nat(), { maxLength: 8 }), fc.nat(9), fc.nat(9),
          (data, cuts, before, after) => {
            const buf = embed(data, before, after);
            const points = [...new Set(cuts.map((c) => before + (c % (data.length + 1))))].sort((x, y) => x - y);
            state.reset();
            let at = before;
            for (const p of [...points, before + data.length]) {
              state.update(buf, at, p);
              at = p;
            }
            assert.equal(toHex(state.digest()), nodeHash(name, data));
          }),
        { numRuns: 500 },
      );
    });

    it('reads a view with a non-zero byteOffset and leaves its input untouched', () => {
      const backing = pattern(200, 9);
      const view = backing.subarray(13, 150);
      const copy = backing.slice();
      assert.equal(toHex(fn(view)), nodeHash(name, backing.slice(13, 150)));
      assert.deepEqual(backing, copy);
    });

    it('copyFrom continues from a saved state', () => {
      const prefix = pattern(100, 4);
      const saved = new State().update(prefix);
      const work = new State();
      for (const n of [0, 1, 27, 64, 200]) {
        const tail = pattern(n, n);
        const whole = new Uint8Array([...prefix, ...tail]);
        assert.equal(toHex(work.copyFrom(saved).update(tail).digest()), nodeHash(name, whole));
      }
    });

    it('rejects a range outside the data', () => {
      const s = new State();
      assert.throws(() => s.update(new Uint8Array(4), 3, 2), RangeError);
      assert.throws(() => s.update(new Uint8Array(4), 0, 5), RangeError);
      assert.throws(() => s.update(new Uint8Array(4), -1, 2), RangeError);
      assert.throws(() => s.update(new Uint8Array(4), 0.5, 2), RangeError);
    });
  });
}

const HMACS = [
  { name: 'sha1', fn: hmacSha1, Keyed: HmacSha1 },
  { name: 'sha256', fn: hmacSha256, Keyed: HmacSha256 },
] as const;

describe('hmac', () => {
  it('matches RFC 2202 (HMAC-SHA1) cases 1, 2 and 6', () => {
    assert.equal(toHex(hmacSha1(new Uint8Array(20).fill(0x0b), ascii('Hi There'))),
      'b617318655057264e28bc0b6fb378c8ef146be00');
    assert.equal(toHex(hmacSha1(ascii('Jefe'), ascii('what do ya want for nothing?'))),
      'effcdf6ae5eb2fa2d27416d5f184df9c259a7c79');
    assert.equal(toHex(hmacSha1(new Uint8Array(80).fill(0xaa), ascii('Test Using Larger Than Block-Size Key - Hash Key First'))),
      'aa4ae5e15272d00e95705637ce8a3b55ed402112');
  });

  it('matches RFC 4231 (HMAC-SHA256) cases 1, 2 and 6', () => {
    assert.equal(toHex(hmacSha256(new Uint8Array(20).fill(0x0b), ascii('Hi There'))),
      'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7');
    assert.equal(toHex(hmacSha256(ascii('Jefe'), ascii('what do ya want for nothing?'))),
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
    assert.equal(toHex(hmacSha256(new Uint8Array(131).fill(0xaa), ascii('Test Using Larger Than Block-Size Key - Hash Key First'))),
      '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54');
  });

  for (const { name, fn, Keyed } of HMACS) {
    it(`hmac-${name} matches node:crypto for keys shorter than, equal to and longer than the block`, () => {
      for (const keyLength of [0, 1, 16, 20, 32, 63, 64, 65, 100, 128, 200]) {
        for (const n of BOUNDARY_LENGTHS) {
          const key = pattern(keyLength, keyLength + 1);
          const data = pattern(n, n + 2);
          assert.equal(toHex(fn(key, data)), nodeHmac(name, key, data), `key ${keyLength}, data ${n}`);
        }
      }
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 150 }), fc.uint8Array({ maxLength: 600 }),
          (key, data) => assert.equal(toHex(fn(key, data)), nodeHmac(name, key, data))),
        { numRuns: 1500 },
      );
    });

    it(`Hmac${name === 'sha1' ? 'Sha1' : 'Sha256'} reuses one key over many ranges of a buffer`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 130 }),
          fc.array(fc.tuple(fc.uint8Array({ maxLength: 300 }), fc.nat(20), fc.nat(20)), { minLength: 1, maxLength: 6 }),
          (key, messages) => {
            const mac = new Keyed(key);
            for (const [data, before, after] of messages) {
              const buf = embed(data, before, after);
              const expected = nodeHmac(name, key, data);
              assert.equal(toHex(mac.digest(buf, before, before + data.length)), expected);
              assert.equal(toHex(mac.digest(data)), expected);
            }
          }),
        { numRuns: 400 },
      );
    });
  }

  it('is not affected by changes to the key array after construction', () => {
    const key = pattern(30, 5);
    const original = key.slice();
    const mac = new HmacSha1(key);
    key.fill(0);
    assert.equal(toHex(mac.digest(ascii('msg'))), nodeHmac('sha1', original, ascii('msg')));
  });

  it('digestInto writes at an offset and nowhere else', () => {
    const out = new Uint8Array(40).fill(0xee);
    new HmacSha256(ascii('k')).digestInto(ascii('xdatax'), 1, 5, out, 4);
    assert.equal(toHex(out.subarray(4, 36)), nodeHmac('sha256', ascii('k'), ascii('data')));
    assert.ok(out.subarray(0, 4).every((b) => b === 0xee) && out.subarray(36).every((b) => b === 0xee));
    assert.throws(() => new HmacSha256(ascii('k')).digestInto(ascii('x'), 0, 1, out, 9), RangeError);
  });
});

describe('crc32', () => {
  it('gives the CRC-32/ISO-HDLC check value for "123456789"', () => {
    assert.equal(crc32(ascii('123456789')), 0xcbf43926);
    assert.equal(crc32(new Uint8Array(0)), 0);
  });

  it(`matches ${zlibCrc32 ? 'zlib.crc32' : 'a bitwise reference'} for every length 0..100 and on random input`, () => {
    for (let n = 0; n <= 100; n++) {
      const data = pattern(n, 11 * n + 1);
      assert.equal(crc32(data), referenceCrc32(data), `length ${n}`);
    }
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), (data) => assert.equal(crc32(data), referenceCrc32(data))),
      { numRuns: 2000 });
  });

  it('checksums only the given range', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(17), fc.nat(17), (data, before, after) => {
        assert.equal(crc32(embed(data, before, after), before, before + data.length), referenceCrc32(data));
      }),
      { numRuns: 1000 },
    );
    assert.throws(() => crc32(new Uint8Array(4), 2, 5), RangeError);
  });
});

describe('timingSafeEqual', () => {
  it('is true only for the same bytes at the same length', () => {
    assert.equal(timingSafeEqual(new Uint8Array(0), new Uint8Array(0)), true);
    const a = pattern(20, 2);
    assert.equal(timingSafeEqual(a, a.slice()), true);
    for (let i = 0; i < a.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const b = a.slice();
        b[i] ^= bit;
        assert.equal(timingSafeEqual(a, b), false, `byte ${i} bit ${bit}`);
      }
    }
    assert.equal(timingSafeEqual(a, a.subarray(0, 19)), false);
    assert.equal(timingSafeEqual(a.subarray(0, 19), a), false);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }),
      (x, y) => assert.equal(timingSafeEqual(x, y), Buffer.from(x).equals(Buffer.from(y)))), { numRuns: 1000 });
  });
});

/** Strings of any UTF-16 code units, lone surrogates included. */
const anyUtf16 = fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 40 })
  .map((units) => String.fromCharCode(...units));

describe('utf8', () => {
  it('encodes like Buffer, replacing lone surrogates with U+FFFD', () => {
    assert.equal(toHex(utf8Encode('\ud800')), 'efbfbd');
    fc.assert(fc.property(fc.oneof(anyUtf16, fc.string({ unit: 'grapheme' })),
      (s) => assert.equal(toHex(utf8Encode(s)), Buffer.from(s, 'utf8').toString('hex'))), { numRuns: 1500 });
  });

  it('decodes any bytes like Buffer without throwing, and keeps a leading BOM', () => {
    assert.equal(utf8Decode(fromHex('efbbbf41')), '\ufeffA');
    assert.equal(utf8Decode(fromHex('ff41c3')), '\ufffdA\ufffd');
    fc.assert(fc.property(fc.uint8Array({ maxLength: 60 }),
      (bytes) => assert.equal(utf8Decode(bytes), Buffer.from(bytes).toString('utf8'))), { numRuns: 1500 });
  });

  it('strict decoding throws a TypeError exactly when the bytes are not UTF-8', () => {
    assert.throws(() => utf8DecodeStrict(fromHex('c0af')), TypeError);
    assert.throws(() => utf8DecodeStrict(fromHex('eda080')), TypeError); // an encoded surrogate
    // Mostly-valid input: real text with a byte perhaps flipped, so both outcomes are common.
    const text = fc.tuple(fc.string({ unit: 'grapheme', maxLength: 20 }), fc.nat(), fc.nat(255)).map(([s, at, v]) => {
      const bytes = utf8Encode(s);
      if (bytes.length > 0 && v > 128) bytes[at % bytes.length] = v;
      return bytes;
    });
    fc.assert(fc.property(fc.oneof(text, fc.uint8Array({ maxLength: 20 })), (bytes) => {
      if (isUtf8(bytes)) assert.equal(utf8DecodeStrict(bytes), Buffer.from(bytes).toString('utf8'));
      else assert.throws(() => utf8DecodeStrict(bytes), TypeError);
    }), { numRuns: 1500 });
  });

  it('decodes only the given range', () => {
    const bytes = utf8Encode('xx\u00e9t\u00e9yy');
    assert.equal(utf8Decode(bytes, 2, bytes.length - 2), '\u00e9t\u00e9');
    assert.equal(utf8DecodeStrict(bytes, 2, bytes.length - 2), '\u00e9t\u00e9');
    assert.equal(utf8Decode(bytes, 3, 4), '\ufffd'); // half of é
    assert.throws(() => utf8DecodeStrict(bytes, 3, 4), TypeError);
    assert.throws(() => utf8Decode(bytes, 4, 3), RangeError);
  });
});

describe('hex', () => {
  it('round-trips and matches Buffer', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
      const hex = toHex(bytes);
      assert.equal(hex, Buffer.from(bytes).toString('hex'));
      assert.deepEqual(fromHex(hex), bytes);
      assert.deepEqual(fromHex(hex.toUpperCase()), bytes);
    }), { numRuns: 1000 });
  });

  it('ignores whitespace and rejects odd lengths and non-hex characters', () => {
    assert.deepEqual(fromHex(' 00 01\n\tfF  a0 \r\n'), new Uint8Array([0, 1, 255, 160]));
    assert.deepEqual(fromHex(''), new Uint8Array(0));
    for (const bad of ['0', 'abc', '0g', 'g0', 'zz', '0x00', '12-3', '+1', '\u0660\u0661']) {
      assert.throws(() => fromHex(bad), TypeError, bad);
    }
  });
});

describe('base64', () => {
  it('round-trips and matches Buffer', () => {
    for (const [bytes, b64] of [['', ''], ['f', 'Zg=='], ['fo', 'Zm8='], ['foo', 'Zm9v'], ['foobar', 'Zm9vYmFy']]) {
      assert.equal(toBase64(ascii(bytes)), b64); // RFC 4648 §10
      assert.deepEqual(fromBase64(b64), ascii(bytes));
    }
    fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
      const b64 = toBase64(bytes);
      assert.equal(b64, Buffer.from(bytes).toString('base64'));
      assert.deepEqual(fromBase64(b64), bytes);
    }), { numRuns: 1000 });
  });

  it('decodes exactly what atob accepts, and throws TypeError on the rest', () => {
    const chars = [...'ABCabcxyz0189+/', '=', '=', ' ', '\n', '\t', '-', '_', '*'];
    const text = fc.string({ unit: fc.constantFrom(...chars), maxLength: 14 });
    const wellFormed = fc.uint8Array({ maxLength: 12 }).map((b) => toBase64(b).replace(/=+$/, (pad) => (b[0] & 1 ? pad : '')));
    fc.assert(fc.property(fc.oneof(text, wellFormed), (s) => {
      let expected: Uint8Array | undefined;
      try {
        expected = Uint8Array.from(atob(s), (ch) => ch.charCodeAt(0));
      } catch {
        expected = undefined;
      }
      if (expected) assert.deepEqual(fromBase64(s), expected, JSON.stringify(s));
      else assert.throws(() => fromBase64(s), TypeError, JSON.stringify(s));
    }), { numRuns: 3000 });
    for (const bad of ['A', 'AB=C', 'A===', 'ABC==', '\u00e9AAA', 'AA-A']) assert.throws(() => fromBase64(bad), TypeError, bad);
  });
});
