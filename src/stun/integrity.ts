import { HmacSha1, HmacSha256, md5, sha256, timingSafeEqual, utf8Encode } from '../crypto/index.js';
import { HEADER_LENGTH, PasswordAlgorithm } from './constants.js';
import type { StunMessage } from './message.js';

/**
 * RFC 8489 §9.1.1: the short-term key is OpaqueString(password) in UTF-8. Deliberately not per spec: no
 * RFC 8265 OpaqueString/SASLprep processing is applied — ICE passwords are ASCII (RFC 8839 §5.4), and
 * a caller with other passwords must normalise them (NFC) first.
 */
export function shortTermKey(password: string): Uint8Array {
  return utf8Encode(password);
}

export type LongTermAlgorithm = 'MD5' | 'SHA-256';

/**
 * RFC 8489 §9.2.2 / §18.5.1: MD5 (16 bytes) or SHA-256 (32 bytes) of "username:realm:password" in UTF-8.
 * As with shortTermKey, OpaqueString is not applied: pass already-normalised strings.
 */
export function longTermKey(username: string, realm: string, password: string, algorithm: LongTermAlgorithm = 'MD5'): Uint8Array {
  const input = utf8Encode(`${username}:${realm}:${password}`);
  return algorithm === 'SHA-256' ? sha256(input) : md5(input);
}

/** The PASSWORD-ALGORITHM number (RFC 8489 §18.5) of a long-term key algorithm. */
export function passwordAlgorithmNumber(algorithm: LongTermAlgorithm): number {
  return algorithm === 'SHA-256' ? PasswordAlgorithm.SHA256 : PasswordAlgorithm.MD5;
}

/** RFC 8489 §14.4: USERHASH = SHA-256(username ":" realm), 32 bytes (OpaqueString not applied, as above). */
export function userHash(username: string, realm: string): Uint8Array {
  return sha256(utf8Encode(`${username}:${realm}`));
}

/**
 * Checks MESSAGE-INTEGRITY (RFC 8489 §14.5) of a decoded message: HMAC-SHA1 of the bytes before the
 * attribute with the header length pointing at its end, compared in constant time. `key` may be a
 * pre-keyed HmacSha1 so an ICE agent does not rehash its password per check. False when the message has
 * no MESSAGE-INTEGRITY or was not decoded from bytes.
 */
export function verifyMessageIntegrity(message: StunMessage, key: Uint8Array | HmacSha1): boolean {
  const raw = message.raw;
  const at = message.integrityOffset;
  if (raw === undefined || at < 0) return false;
  const hmac = key instanceof HmacSha1 ? key : new HmacSha1(key);
  return timingSafeEqual(macWithAdjustedLength(raw, at, at + 24, hmac), raw.subarray(at + 4, at + 24));
}

/** Checks MESSAGE-INTEGRITY-SHA256 (RFC 8489 §14.6), which may be truncated to 16..28 bytes. */
export function verifyMessageIntegritySha256(message: StunMessage, key: Uint8Array | HmacSha256): boolean {
  const raw = message.raw;
  const at = message.integritySha256Offset;
  if (raw === undefined || at < 0) return false;
  const length = (raw[at + 2] << 8) | raw[at + 3];
  const hmac = key instanceof HmacSha256 ? key : new HmacSha256(key);
  const mac = macWithAdjustedLength(raw, at, at + 4 + length, hmac);
  return timingSafeEqual(mac.subarray(0, length), raw.subarray(at + 4, at + 4 + length));
}

/**
 * HMAC of raw[0, at) with the header's length field set to end at `end`. The field is rewritten in place
 * and restored — the bytes are the caller's, but nothing else runs in between and this avoids a copy.
 */
function macWithAdjustedLength(raw: Uint8Array, at: number, end: number, hmac: { digest(data: Uint8Array, start?: number, end?: number): Uint8Array }): Uint8Array {
  const high = raw[2];
  const low = raw[3];
  const adjusted = end - HEADER_LENGTH;
  raw[2] = adjusted >>> 8;
  raw[3] = adjusted & 0xff;
  try {
    return hmac.digest(raw, 0, at);
  } finally {
    raw[2] = high;
    raw[3] = low;
  }
}
