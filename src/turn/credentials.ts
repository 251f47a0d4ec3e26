// The client side of the STUN long-term credential mechanism (RFC 8489 §9.2) as TURN uses it (RFC 8656 §5):
// the first request goes unauthenticated, a 401 brings REALM and NONCE, a 438 a fresh NONCE; PASSWORD-
// ALGORITHMS (§9.2.4) lets the server offer SHA-256 keys and switches integrity to MESSAGE-INTEGRITY-SHA256.
import { HmacSha1, HmacSha256, fromBase64 } from '../crypto/index.js';
import type { StunAttributeEntry, StunPasswordAlgorithm } from '../stun/attribute-values.js';
import { PasswordAlgorithm } from '../stun/constants.js';
import { encodeStunMessage } from '../stun/encode.js';
import {
  longTermKey,
  passwordAlgorithmNumber,
  userHash,
  verifyMessageIntegrity,
  verifyMessageIntegritySha256,
  type LongTermAlgorithm,
} from '../stun/integrity.js';
import type { StunMessage } from '../stun/message.js';

/** RFC 8489 §9.2: a NONCE that starts with this and 4 base64 characters carries the security feature bits. */
const NONCE_COOKIE = 'obMatJos2';
/** RFC 8489 §18.1: bit 0 (most significant of the 24) "Password algorithms", bit 1 "Username anonymity". */
const FEATURE_PASSWORD_ALGORITHMS = 0x800000;
const FEATURE_USERNAME_ANONYMITY = 0x400000;

/**
 * Which offered algorithm to use. RFC 8489 §9.2.5 says "the first algorithm supported on the list";
 * 'prefer-sha256' (the default) deliberately picks SHA-256 whenever the server lists it, wherever in the
 * list — servers put MD5 first for old clients, and the server accepts any listed entry (§9.2.4).
 */
export type PasswordAlgorithmChoice = 'prefer-sha256' | 'server-order';

export type ChallengeOutcome = { retry: true } | { retry: false; reason: string };

/** What a response's integrity check found (RFC 8489 §9.2.5). */
export type IntegrityCheck = 'valid' | 'missing' | 'invalid';

export class LongTermCredentials {
  realm: string | undefined;
  nonce: string | undefined;
  /** The algorithm of the current key: MD5 unless PASSWORD-ALGORITHMS offered (and we chose) SHA-256. */
  algorithm: LongTermAlgorithm = 'MD5';
  private offered: readonly StunPasswordAlgorithm[] | undefined;
  private anonymous = false;
  private sha1: HmacSha1 | undefined;
  private sha256: HmacSha256 | undefined;

  constructor(
    private readonly username: string,
    private readonly password: string,
    private readonly choice: PasswordAlgorithmChoice = 'prefer-sha256',
  ) {}

  /** True once a challenge supplied a realm and nonce: requests can then carry integrity. */
  get ready(): boolean {
    return this.realm !== undefined && this.nonce !== undefined;
  }

  /** RFC 8489 §9.2.5: once PASSWORD-ALGORITHMS is in use, requests carry MESSAGE-INTEGRITY-SHA256 only. */
  get usesSha256Integrity(): boolean {
    return this.offered !== undefined;
  }

  /** Forgets realm and nonce (a new server after ALTERNATE-SERVER: its first request is unauthenticated). */
  reset(): void {
    this.realm = undefined;
    this.nonce = undefined;
    this.offered = undefined;
    this.algorithm = 'MD5';
    this.sha1 = undefined;
    this.sha256 = undefined;
  }

  /**
   * Takes in a 401 or 438 and says whether to retry. `authenticated` tells whether the rejected request
   * carried integrity: a 401 to such a request with the realm unchanged means the credentials are wrong,
   * and RFC 8489 §9.2.5 forbids retrying with the same username, realm and password.
   */
  challenge(code: 401 | 438, response: StunMessage, authenticated: boolean): ChallengeOutcome {
    const realm = response.get('REALM') ?? (code === 438 ? this.realm : undefined);
    const nonce = response.get('NONCE');
    if (realm === undefined || nonce === undefined) return { retry: false, reason: `${code} without REALM and NONCE` };
    const features = nonceFeatures(nonce);
    const offered = response.get('PASSWORD-ALGORITHMS');
    // RFC 8489 §9.2.5: the nonce says PASSWORD-ALGORITHMS is in use but it is missing — a bid-down attack.
    if ((features & FEATURE_PASSWORD_ALGORITHMS) !== 0 && offered === undefined) {
      return { retry: false, reason: 'the nonce cookie announces PASSWORD-ALGORITHMS but the response has none' };
    }
    if (code === 401 && authenticated && realm === this.realm) {
      return { retry: false, reason: 'the server rejected the credentials (401 to an authenticated request)' };
    }
    let algorithm: LongTermAlgorithm = 'MD5';
    if (offered !== undefined) {
      const chosen = this.choose(offered);
      if (chosen === undefined) return { retry: false, reason: 'the server offers no password algorithm this client supports' };
      algorithm = chosen;
    }
    const keyChanged = realm !== this.realm || algorithm !== this.algorithm || this.sha1 === undefined;
    this.realm = realm;
    this.nonce = nonce;
    this.offered = offered;
    this.anonymous = (features & FEATURE_USERNAME_ANONYMITY) !== 0;
    this.algorithm = algorithm;
    if (keyChanged) {
      const key = longTermKey(this.username, realm, this.password, algorithm);
      this.sha1 = new HmacSha1(key);
      this.sha256 = new HmacSha256(key);
    }
    return { retry: true };
  }

  /**
   * The authentication attributes of a request (RFC 8489 §9.2.3.2): USERNAME (or USERHASH when the nonce
   * asks for anonymity), REALM, NONCE and, with PASSWORD-ALGORITHMS in use, its echo and PASSWORD-ALGORITHM.
   */
  attributes(): StunAttributeEntry[] {
    if (this.realm === undefined || this.nonce === undefined) return [];
    const entries: StunAttributeEntry[] = [
      this.anonymous ? ['USERHASH', userHash(this.username, this.realm)] : ['USERNAME', this.username],
      ['REALM', this.realm],
      ['NONCE', this.nonce],
    ];
    if (this.offered !== undefined) {
      entries.push(['PASSWORD-ALGORITHMS', this.offered]);
      entries.push(['PASSWORD-ALGORITHM', { algorithm: passwordAlgorithmNumber(this.algorithm), parameters: new Uint8Array(0) }]);
    }
    return entries;
  }

  /** Encodes a request with MESSAGE-INTEGRITY or MESSAGE-INTEGRITY-SHA256 when ready, plain otherwise. */
  encode(message: StunMessage, fingerprint: boolean): Uint8Array {
    if (!this.ready || this.sha1 === undefined || this.sha256 === undefined) return encodeStunMessage(message, { fingerprint });
    if (this.usesSha256Integrity) return encodeStunMessage(message, { integritySha256: { key: this.sha256 }, fingerprint });
    return encodeStunMessage(message, { integrity: { key: this.sha1 }, fingerprint });
  }

  /** Checks a response to an authenticated request with the key the request used (RFC 8489 §9.2.5). */
  verify(response: StunMessage): IntegrityCheck {
    if (this.sha1 === undefined || this.sha256 === undefined) return 'missing';
    if (response.integritySha256Offset >= 0) return verifyMessageIntegritySha256(response, this.sha256) ? 'valid' : 'invalid';
    if (response.integrityOffset >= 0) return verifyMessageIntegrity(response, this.sha1) ? 'valid' : 'invalid';
    return 'missing';
  }

  private choose(offered: readonly StunPasswordAlgorithm[]): LongTermAlgorithm | undefined {
    const supported = offered.filter((a) => a.algorithm === PasswordAlgorithm.MD5 || a.algorithm === PasswordAlgorithm.SHA256);
    if (supported.length === 0) return undefined;
    if (this.choice === 'prefer-sha256' && supported.some((a) => a.algorithm === PasswordAlgorithm.SHA256)) return 'SHA-256';
    return supported[0].algorithm === PasswordAlgorithm.SHA256 ? 'SHA-256' : 'MD5';
  }
}

/** The 24 security feature bits of a nonce that starts with the nonce cookie, else 0 (RFC 8489 §9.2). */
export function nonceFeatures(nonce: string): number {
  if (!nonce.startsWith(NONCE_COOKIE) || nonce.length < NONCE_COOKIE.length + 4) return 0;
  let bytes: Uint8Array;
  try {
    bytes = fromBase64(nonce.slice(NONCE_COOKIE.length, NONCE_COOKIE.length + 4));
  } catch {
    return 0; // not base64 after all: a nonce that merely starts with the same letters
  }
  return bytes.length === 3 ? (bytes[0] << 16) | (bytes[1] << 8) | bytes[2] : 0;
}
