import { BlockHash } from './block-hash.js';
import { Sha1State } from './sha1.js';
import { Sha256State } from './sha256.js';

const BLOCK = 64;
const IPAD = 0x36;
const OPAD = 0x5c;

/**
 * HMAC (RFC 2104) with the key folded in once: the hash states after the (key ⊕ ipad) and (key ⊕ opad)
 * blocks are kept and copied per message, so a MAC costs the message's blocks plus one outer block — never
 * a re-hash of the key. ICE MACs every check with the same password (RFC 8445 §7.2.2), so this matters.
 */
abstract class KeyedHmac<S extends BlockHash> {
  private readonly innerStart: S;
  private readonly outerStart: S;
  private readonly work: S;
  private readonly innerDigest: Uint8Array;
  readonly digestLength: number;

  protected constructor(createState: () => S, key: Uint8Array) {
    this.innerStart = createState();
    this.outerStart = createState();
    this.work = createState();
    this.digestLength = this.work.digestLength;
    this.innerDigest = new Uint8Array(this.digestLength);

    // RFC 2104 §2: a key longer than the block is replaced by its hash; shorter keys are zero-padded.
    const block = new Uint8Array(BLOCK);
    if (key.length > BLOCK) this.work.reset().update(key).digestInto(block, 0);
    else block.set(key);
    for (let i = 0; i < BLOCK; i++) block[i] ^= IPAD;
    this.innerStart.update(block);
    for (let i = 0; i < BLOCK; i++) block[i] ^= IPAD ^ OPAD;
    this.outerStart.update(block);
    // Key material should not outlive its use in memory we own.
    block.fill(0);
  }

  /** Writes HMAC(key, data[start, end)) into `out` at `offset` without allocating. */
  digestInto(data: Uint8Array, start: number, end: number, out: Uint8Array, offset: number): void {
    const work = this.work;
    work.copyFrom(this.innerStart).update(data, start, end).digestInto(this.innerDigest, 0);
    work.copyFrom(this.outerStart).update(this.innerDigest).digestInto(out, offset);
  }

  /** HMAC(key, data[start, end)) in a new array; the range lets a caller MAC part of a packet in place. */
  digest(data: Uint8Array, start = 0, end = data.length): Uint8Array {
    const out = new Uint8Array(this.digestLength);
    this.digestInto(data, start, end, out, 0);
    return out;
  }
}

/** HMAC-SHA1 with a fixed key: STUN MESSAGE-INTEGRITY (RFC 8489 §14.5). */
export class HmacSha1 extends KeyedHmac<Sha1State> {
  constructor(key: Uint8Array) {
    super(() => new Sha1State(), key);
  }
}

/** HMAC-SHA256 with a fixed key: STUN MESSAGE-INTEGRITY-SHA256 (RFC 8489 §14.6). */
export class HmacSha256 extends KeyedHmac<Sha256State> {
  constructor(key: Uint8Array) {
    super(() => new Sha256State(), key);
  }
}

/** HMAC-SHA1 of `data` under `key` (20 bytes). For a key used repeatedly, keep an `HmacSha1` instead. */
export function hmacSha1(key: Uint8Array, data: Uint8Array): Uint8Array {
  return new HmacSha1(key).digest(data);
}

/** HMAC-SHA256 of `data` under `key` (32 bytes). For a key used repeatedly, keep an `HmacSha256` instead. */
export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  return new HmacSha256(key).digest(data);
}
