import { BlockHash, writeUint32BE } from './block-hash.js';

/**
 * The message schedule, shared by every SHA-1 state: hashing is synchronous, so no two blocks are ever in
 * flight at once, and one buffer means no allocation per block.
 */
const W = new Int32Array(80);

/** Incremental SHA-1 (FIPS 180-4 §6.1). Still what STUN MESSAGE-INTEGRITY uses (RFC 8489 §14.5). */
export class Sha1State extends BlockHash {
  readonly digestLength = 20;
  private readonly chain = new Int32Array(5);

  constructor() {
    super(false);
    this.resetChain();
  }

  protected resetChain(): void {
    // FIPS 180-4 §5.3.1.
    const h = this.chain;
    h[0] = 0x67452301;
    h[1] = 0xefcdab89;
    h[2] = 0x98badcfe;
    h[3] = 0x10325476;
    h[4] = 0xc3d2e1f0;
  }

  protected copyChain(from: this): void {
    this.chain.set(from.chain);
  }

  protected writeDigest(out: Uint8Array, offset: number): void {
    const h = this.chain;
    for (let i = 0; i < 5; i++) writeUint32BE(out, offset + 4 * i, h[i]);
  }

  protected compress(m: Uint8Array, offset: number): void {
    const w = W;
    for (let i = 0, o = offset; i < 16; i++, o += 4) {
      w[i] = (m[o] << 24) | (m[o + 1] << 16) | (m[o + 2] << 8) | m[o + 3];
    }
    for (let i = 16; i < 80; i++) {
      const x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16];
      w[i] = (x << 1) | (x >>> 31);
    }
    const h = this.chain;
    let a = h[0];
    let b = h[1];
    let c = h[2];
    let d = h[3];
    let e = h[4];
    // Four rounds of twenty steps, each with its own function and constant (FIPS 180-4 §4.1.1, §4.2.1).
    // Unrolled by five so the variables trade roles instead of being shuffled every step (about 10% faster
    // here; SHA-1 runs on every STUN check). Sums stay below 2^53, so adding then `| 0` is exact mod 2^32.
    let i = 0;
    for (; i < 20; i += 5) {
      e = (e + ((a << 5) | (a >>> 27)) + (d ^ (b & (c ^ d))) + w[i] + 0x5a827999) | 0;
      b = (b << 30) | (b >>> 2);
      d = (d + ((e << 5) | (e >>> 27)) + (c ^ (a & (b ^ c))) + w[i + 1] + 0x5a827999) | 0;
      a = (a << 30) | (a >>> 2);
      c = (c + ((d << 5) | (d >>> 27)) + (b ^ (e & (a ^ b))) + w[i + 2] + 0x5a827999) | 0;
      e = (e << 30) | (e >>> 2);
      b = (b + ((c << 5) | (c >>> 27)) + (a ^ (d & (e ^ a))) + w[i + 3] + 0x5a827999) | 0;
      d = (d << 30) | (d >>> 2);
      a = (a + ((b << 5) | (b >>> 27)) + (e ^ (c & (d ^ e))) + w[i + 4] + 0x5a827999) | 0;
      c = (c << 30) | (c >>> 2);
    }
    for (; i < 40; i += 5) {
      e = (e + ((a << 5) | (a >>> 27)) + (b ^ c ^ d) + w[i] + 0x6ed9eba1) | 0;
      b = (b << 30) | (b >>> 2);
      d = (d + ((e << 5) | (e >>> 27)) + (a ^ b ^ c) + w[i + 1] + 0x6ed9eba1) | 0;
      a = (a << 30) | (a >>> 2);
      c = (c + ((d << 5) | (d >>> 27)) + (e ^ a ^ b) + w[i + 2] + 0x6ed9eba1) | 0;
      e = (e << 30) | (e >>> 2);
      b = (b + ((c << 5) | (c >>> 27)) + (d ^ e ^ a) + w[i + 3] + 0x6ed9eba1) | 0;
      d = (d << 30) | (d >>> 2);
      a = (a + ((b << 5) | (b >>> 27)) + (c ^ d ^ e) + w[i + 4] + 0x6ed9eba1) | 0;
      c = (c << 30) | (c >>> 2);
    }
    for (; i < 60; i += 5) {
      e = (e + ((a << 5) | (a >>> 27)) + ((b & c) | (d & (b | c))) + w[i] + 0x8f1bbcdc) | 0;
      b = (b << 30) | (b >>> 2);
      d = (d + ((e << 5) | (e >>> 27)) + ((a & b) | (c & (a | b))) + w[i + 1] + 0x8f1bbcdc) | 0;
      a = (a << 30) | (a >>> 2);
      c = (c + ((d << 5) | (d >>> 27)) + ((e & a) | (b & (e | a))) + w[i + 2] + 0x8f1bbcdc) | 0;
      e = (e << 30) | (e >>> 2);
      b = (b + ((c << 5) | (c >>> 27)) + ((d & e) | (a & (d | e))) + w[i + 3] + 0x8f1bbcdc) | 0;
      d = (d << 30) | (d >>> 2);
      a = (a + ((b << 5) | (b >>> 27)) + ((c & d) | (e & (c | d))) + w[i + 4] + 0x8f1bbcdc) | 0;
      c = (c << 30) | (c >>> 2);
    }
    for (; i < 80; i += 5) {
      e = (e + ((a << 5) | (a >>> 27)) + (b ^ c ^ d) + w[i] + 0xca62c1d6) | 0;
      b = (b << 30) | (b >>> 2);
      d = (d + ((e << 5) | (e >>> 27)) + (a ^ b ^ c) + w[i + 1] + 0xca62c1d6) | 0;
      a = (a << 30) | (a >>> 2);
      c = (c + ((d << 5) | (d >>> 27)) + (e ^ a ^ b) + w[i + 2] + 0xca62c1d6) | 0;
      e = (e << 30) | (e >>> 2);
      b = (b + ((c << 5) | (c >>> 27)) + (d ^ e ^ a) + w[i + 3] + 0xca62c1d6) | 0;
      d = (d << 30) | (d >>> 2);
      a = (a + ((b << 5) | (b >>> 27)) + (c ^ d ^ e) + w[i + 4] + 0xca62c1d6) | 0;
      c = (c << 30) | (c >>> 2);
    }
    h[0] = (h[0] + a) | 0;
    h[1] = (h[1] + b) | 0;
    h[2] = (h[2] + c) | 0;
    h[3] = (h[3] + d) | 0;
    h[4] = (h[4] + e) | 0;
  }
}

/** One state reused by every `sha1()` call; safe because a call runs to completion before the next. */
const shared = new Sha1State();

/** SHA-1 of `data`: 20 bytes. */
export function sha1(data: Uint8Array): Uint8Array {
  return shared.reset().update(data).digest();
}
