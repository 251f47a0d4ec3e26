// Time-limited credentials of the TURN REST API (draft-uberti-behave-turn-rest-00 §2.2): the username is
// "<unix expiry>:<user>", the credential is base64(HMAC-SHA1(secret, username)). One app-server secret mints
// credentials for both the bridge and a TURN server; verifying needs only the secret, no shared state.
import { HmacSha1 } from '../crypto/hmac.js';
import { toBase64 } from '../crypto/base64.js';
import { timingSafeEqual } from '../crypto/timing-safe-equal.js';
import { utf8Encode } from '../crypto/utf8.js';

/** Usernames longer than this are refused as malformed before any MAC is computed. */
export const MAX_REST_USERNAME_LENGTH = 512;
/** Expiry timestamps are at most this many decimal digits (year 33658 in seconds): keeps them exact integers. */
const MAX_EXPIRY_DIGITS = 12;

export interface RestCredential {
  username: string;
  credential: string;
}

export interface MintRestCredentialOptions {
  secret: string | Uint8Array;
  /** The application's user id; opaque ids are recommended (draft §6: usernames are visible on the wire). */
  user: string;
  /** Lifetime in whole seconds; the draft recommends one day (86 400). */
  ttlSeconds: number;
  /**
   * The current time in Unix seconds. Default `Date.now() / 1000`, the clock of the app server that mints
   * (Date exists in every runtime, so the module stays isomorphic); pass it to mint for another time, or in tests.
   */
  nowSeconds?: number;
}

export type RestCredentialCheck =
  | { ok: true; user: string; expiresAt: number }
  | { ok: false; reason: 'malformed' | 'expired' | 'bad-signature' };

function keyOf(secret: string | Uint8Array): Uint8Array {
  return typeof secret === 'string' ? utf8Encode(secret) : secret;
}

/** Mints the username/credential pair that expires `ttlSeconds` after `nowSeconds` (default: now). */
export function mintRestCredential(options: MintRestCredentialOptions): RestCredential {
  const { secret, user, ttlSeconds, nowSeconds = Date.now() / 1000 } = options;
  if (!(typeof secret === 'string' || secret instanceof Uint8Array) || secret.length === 0) throw new TypeError('secret must be a non-empty string or Uint8Array');
  if (typeof user !== 'string') throw new TypeError(`user must be a string (the application's user id), got ${typeof user}`);
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) throw new RangeError(`ttlSeconds must be a positive integer, got ${ttlSeconds}`);
  if (!Number.isFinite(nowSeconds) || nowSeconds < 0) throw new RangeError(`nowSeconds must be a non-negative number, got ${nowSeconds}`);
  const username = `${Math.floor(nowSeconds) + ttlSeconds}:${user}`;
  if (username.length > MAX_REST_USERNAME_LENGTH) throw new RangeError(`the username would exceed ${MAX_REST_USERNAME_LENGTH} characters`);
  return { username, credential: toBase64(new HmacSha1(keyOf(secret)).digest(utf8Encode(username))) };
}

/**
 * Checks a username/credential pair. The signature is checked before the expiry, so `expired` is only
 * ever said of a credential this secret really issued. The MAC comparison takes constant time.
 * A username without a colon is a bare expiry (the draft makes the user part optional).
 */
export function verifyRestCredential(secret: string | Uint8Array, username: string, credential: string, nowSeconds: number): RestCredentialCheck {
  if (typeof username !== 'string' || typeof credential !== 'string' || username.length > MAX_REST_USERNAME_LENGTH) {
    return { ok: false, reason: 'malformed' };
  }
  const colon = username.indexOf(':');
  const expiryText = colon < 0 ? username : username.slice(0, colon);
  if (expiryText.length === 0 || expiryText.length > MAX_EXPIRY_DIGITS || !/^[0-9]+$/.test(expiryText)) return { ok: false, reason: 'malformed' };
  // A base64 HMAC-SHA1 is 28 characters; the comparison below would fail anyway, this only skips the MAC.
  if (credential.length === 0 || credential.length > 64) return { ok: false, reason: 'malformed' };
  const expected = utf8Encode(toBase64(new HmacSha1(keyOf(secret)).digest(utf8Encode(username))));
  if (!timingSafeEqual(expected, utf8Encode(credential))) return { ok: false, reason: 'bad-signature' };
  const expiresAt = Number(expiryText);
  if (nowSeconds >= expiresAt) return { ok: false, reason: 'expired' };
  return { ok: true, user: colon < 0 ? '' : username.slice(colon + 1), expiresAt };
}
