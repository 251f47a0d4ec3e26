// Stateless nonces for the long-term credential mechanism (RFC 8489 §9.2). A nonce carries its own expiry
// and is signed for the client's transport address, so the server keeps no per-nonce state and never hands
// the same nonce to two sources (§9.2.4: "MUST NOT choose the same NONCE for two requests unless they have
// the same source IP address and port").
import { fromBase64, HmacSha256, timingSafeEqual, toBase64, utf8Encode } from '../crypto/index.js';
import type { Millis } from '../net/clock.js';
import type { TransportAddress } from '../net/transport-address.js';

/** RFC 8489 §9.2: every nonce starts with this, then 4 base64 characters of the 24 security-feature bits. */
export const NONCE_COOKIE = 'obMatJos2';
/** RFC 8489 §18.1: bit 0 (the most significant bit of the first byte) — PASSWORD-ALGORITHMS supported. */
const FEATURE_PASSWORD_ALGORITHMS = 0x80;
/** RFC 8489 §18.1: bit 1 — username anonymity: the client may send USERHASH instead of USERNAME. */
const FEATURE_USERNAME_ANONYMITY = 0x40;

/** The security features a nonce cookie announces (RFC 8489 §9.2.1). */
export interface NonceFeatures {
  readonly passwordAlgorithms: boolean;
  readonly usernameAnonymity: boolean;
}

/** Body layout: expiry (6 bytes, ms on the engine's clock), salt (6 bytes), MAC (12 bytes) → 32 base64 chars. */
const EXPIRY_BYTES = 6;
const SALT_BYTES = 6;
const MAC_BYTES = 12;
const BODY_BYTES = EXPIRY_BYTES + SALT_BYTES + MAC_BYTES;
const BODY_CHARS = (BODY_BYTES / 3) * 4;

export type NonceCheck = 'valid' | 'stale';

export class NonceIssuer {
  private readonly hmac: HmacSha256;
  /** The 13-character nonce cookie (RFC 8489 §9.2) every nonce starts with. */
  readonly cookie: string;

  /**
   * `key` signs nonces (random per server by default, so a restart invalidates old nonces: clients simply
   * get a 438 and retry). `lifetimeMs` is how long a nonce stays valid.
   */
  constructor(
    key: Uint8Array,
    private readonly lifetimeMs: Millis,
    features: NonceFeatures,
  ) {
    this.hmac = new HmacSha256(key);
    const bits = (features.passwordAlgorithms ? FEATURE_PASSWORD_ALGORITHMS : 0) | (features.usernameAnonymity ? FEATURE_USERNAME_ANONYMITY : 0);
    this.cookie = NONCE_COOKIE + toBase64(new Uint8Array([bits, 0, 0]));
  }

  /** Whether a nonce the client echoes announced PASSWORD-ALGORITHMS support (RFC 8489 §9.2.4). */
  static announcesPasswordAlgorithms(nonce: string): boolean {
    if (nonce.length < NONCE_COOKIE.length + 4 || !nonce.startsWith(NONCE_COOKIE)) return false;
    try {
      const features = fromBase64(nonce.slice(NONCE_COOKIE.length, NONCE_COOKIE.length + 4));
      return (features[0] & FEATURE_PASSWORD_ALGORITHMS) !== 0;
    } catch {
      return false;
    }
  }

  issue(client: TransportAddress, now: Millis): string {
    const body = new Uint8Array(BODY_BYTES);
    writeUint48(body, 0, Math.max(0, Math.floor(now + this.lifetimeMs)));
    crypto.getRandomValues(body.subarray(EXPIRY_BYTES, EXPIRY_BYTES + SALT_BYTES));
    body.set(this.mac(body, client), EXPIRY_BYTES + SALT_BYTES);
    return this.cookie + toBase64(body);
  }

  /**
   * 'valid' for a nonce this issuer made for `client` that has not expired; anything else — another
   * server's, another client's, expired, garbled — is 'stale' and earns a 438 with a fresh one.
   */
  check(nonce: string, client: TransportAddress, now: Millis): NonceCheck {
    if (nonce.length !== this.cookie.length + BODY_CHARS || !nonce.startsWith(this.cookie)) return 'stale';
    let body: Uint8Array;
    try {
      body = fromBase64(nonce.slice(this.cookie.length));
    } catch {
      return 'stale';
    }
    if (body.length !== BODY_BYTES) return 'stale';
    if (!timingSafeEqual(this.mac(body, client), body.subarray(EXPIRY_BYTES + SALT_BYTES))) return 'stale';
    const expiresAt = readUint48(body, 0);
    // A nonce claiming to live longer than any nonce is issued for was made against another clock epoch.
    if (now >= expiresAt || expiresAt - now > this.lifetimeMs) return 'stale';
    return 'valid';
  }

  private mac(body: Uint8Array, client: TransportAddress): Uint8Array {
    const address = utf8Encode(`|${client.address}|${client.port}`);
    const input = new Uint8Array(EXPIRY_BYTES + SALT_BYTES + address.length);
    input.set(body.subarray(0, EXPIRY_BYTES + SALT_BYTES));
    input.set(address, EXPIRY_BYTES + SALT_BYTES);
    return this.hmac.digest(input).subarray(0, MAC_BYTES);
  }
}

function writeUint48(out: Uint8Array, at: number, value: number): void {
  const high = Math.floor(value / 2 ** 32);
  const low = value >>> 0;
  out[at] = (high >>> 8) & 0xff;
  out[at + 1] = high & 0xff;
  out[at + 2] = low >>> 24;
  out[at + 3] = (low >>> 16) & 0xff;
  out[at + 4] = (low >>> 8) & 0xff;
  out[at + 5] = low & 0xff;
}

function readUint48(bytes: Uint8Array, at: number): number {
  const high = (bytes[at] << 8) | bytes[at + 1];
  const low = ((bytes[at + 2] << 24) | (bytes[at + 3] << 16) | (bytes[at + 4] << 8) | bytes[at + 5]) >>> 0;
  return high * 2 ** 32 + low;
}
