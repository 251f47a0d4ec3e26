import { BlockHash, writeUint32LE } from './block-hash.js';

/** RFC 1321 §3.4: T[i] = floor(2^32 · |sin(i + 1)|), written out rather than computed to avoid libm drift. */
const K = new Int32Array([
  0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
  0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
  0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
  0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
  0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
  0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
  0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
  0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
]);

/** RFC 1321 §3.4: the left-rotation amounts, four per round, repeating within the round. */
const S = new Uint8Array([7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21]);

/** The sixteen little-endian words of the current block, shared (hashing is synchronous). */
const X = new Int32Array(16);

/**
 * Incremental MD5 (RFC 1321). Broken as a hash, but the STUN long-term credential key is still
 * MD5(username ":" realm ":" password) (RFC 8489 §9.2.2), so it cannot be avoided.
 */
export class Md5State extends BlockHash {
  readonly digestLength = 16;
  private readonly chain = new Int32Array(4);

  constructor() {
    // MD5 appends the bit length little-endian, unlike SHA (RFC 1321 §3.2).
    super(true);
    this.resetChain();
  }

  protected resetChain(): void {
    // RFC 1321 §3.3.
    const h = this.chain;
    h[0] = 0x67452301;
    h[1] = 0xefcdab89;
    h[2] = 0x98badcfe;
    h[3] = 0x10325476;
  }

  protected copyChain(from: this): void {
    this.chain.set(from.chain);
  }

  protected writeDigest(out: Uint8Array, offset: number): void {
    const h = this.chain;
    for (let i = 0; i < 4; i++) writeUint32LE(out, offset + 4 * i, h[i]);
  }

  protected compress(m: Uint8Array, offset: number): void {
    const x = X;
    for (let i = 0, o = offset; i < 16; i++, o += 4) {
      x[i] = m[o] | (m[o + 1] << 8) | (m[o + 2] << 16) | (m[o + 3] << 24);
    }
    const h = this.chain;
    let a = h[0];
    let b = h[1];
    let c = h[2];
    let d = h[3];
    // Four rounds of sixteen steps; each round has its own function F, G, H, I and word order (RFC 1321 §3.4).
    for (let i = 0; i < 64; i++) {
      let f: number;
      let g: number;
      if (i < 16) {
        f = d ^ (b & (c ^ d));
        g = i;
      } else if (i < 32) {
        f = c ^ (d & (b ^ c));
        g = (5 * i + 1) & 15;
      } else if (i < 48) {
        f = b ^ c ^ d;
        g = (3 * i + 5) & 15;
      } else {
        f = c ^ (b | ~d);
        g = (7 * i) & 15;
      }
      const s = S[((i >>> 4) << 2) | (i & 3)];
      const t = (a + f + K[i] + x[g]) | 0;
      a = d;
      d = c;
      c = b;
      b = (b + ((t << s) | (t >>> (32 - s)))) | 0;
    }
    h[0] = (h[0] + a) | 0;
    h[1] = (h[1] + b) | 0;
    h[2] = (h[2] + c) | 0;
    h[3] = (h[3] + d) | 0;
  }
}

/** One state reused by every `md5()` call; safe because a call runs to completion before the next. */
const shared = new Md5State();

/** MD5 of `data`: 16 bytes. */
export function md5(data: Uint8Array): Uint8Array {
  return shared.reset().update(data).digest();
}
