/**
 * ICE credentials: the username fragment and password (RFC 8445 §5.3, RFC 8839 §5.4) and the
 * tie-breaker for role conflicts (RFC 8445 §7.1.1).
 */

/** A function that fills `bytes` with cryptographically random values and returns it (WebCrypto's shape). */
export type RandomFill = (bytes: Uint8Array) => Uint8Array;

/** WebCrypto, global in browsers, Workers and Node ≥ 20. */
const webCryptoFill: RandomFill = (bytes) => crypto.getRandomValues(bytes);

/** RFC 8839 §5.1: ice-char = ALPHA / DIGIT / "+" / "/" — exactly 64 symbols, 6 bits each. */
const ICE_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** RFC 8839 §5.4: ufrag = 4*256ice-char; RFC 8445 §5.3: at least 24 random bits. */
export const UFRAG_MIN_LENGTH = 4;
export const UFRAG_MAX_LENGTH = 256;
/** RFC 8839 §5.4: an agent MUST NOT send an ice-ufrag longer than 32 characters (it accepts up to 256). */
export const UFRAG_MAX_SEND_LENGTH = 32;
/** RFC 8839 §5.4: password = 22*256ice-char; RFC 8445 §5.3: at least 128 random bits. */
export const PASSWORD_MIN_LENGTH = 22;
export const PASSWORD_MAX_LENGTH = 256;

/** Whether `text` is `min` to `max` ice-chars (RFC 8839 §5.1). */
export function isIceCharString(text: unknown, min: number, max: number): boolean {
  if (typeof text !== 'string' || text.length < min || text.length > max) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const ok =
      (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2f;
    if (!ok) return false;
  }
  return true;
}

/** RFC 8839 §5.4: what a receiver accepts as ice-ufrag. */
export function isValidUfrag(text: unknown): boolean {
  return isIceCharString(text, UFRAG_MIN_LENGTH, UFRAG_MAX_LENGTH);
}

/** RFC 8839 §5.4: what a receiver accepts as ice-pwd. */
export function isValidPassword(text: unknown): boolean {
  return isIceCharString(text, PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH);
}

/**
 * `length` uniformly random ice-chars. 256 is a multiple of 64, so `byte & 63` gives every symbol exactly
 * four byte values: rejection sampling would never reject, and masking is already unbiased.
 */
function randomIceChars(length: number, fill: RandomFill): string {
  const bytes = fill(new Uint8Array(length));
  let text = '';
  for (let i = 0; i < length; i++) text += ICE_CHARS[bytes[i] & 0x3f];
  return text;
}

function checkLength(what: string, length: number, min: number, max: number): void {
  if (!Number.isInteger(length) || length < min || length > max) {
    throw new RangeError(`${what} length must be an integer in ${min}..${max}, got ${length}`);
  }
}

/** A fresh ice-ufrag: 4 characters (24 bits, the RFC 8445 §5.3 minimum) unless asked for more, at most 32. */
export function generateUfrag(length = UFRAG_MIN_LENGTH, fill: RandomFill = webCryptoFill): string {
  checkLength('ice-ufrag', length, UFRAG_MIN_LENGTH, UFRAG_MAX_SEND_LENGTH);
  return randomIceChars(length, fill);
}

/** A fresh ice-pwd: 22 characters (132 bits ≥ the 128 of RFC 8445 §5.3) unless asked for more, at most 256. */
export function generatePassword(length = PASSWORD_MIN_LENGTH, fill: RandomFill = webCryptoFill): string {
  checkLength('ice-pwd', length, PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH);
  return randomIceChars(length, fill);
}

/** RFC 8445 §7.1.1 / §16.1: ICE-CONTROLLING and ICE-CONTROLLED carry a 64-bit random tie-breaker. */
export function generateTieBreaker(fill: RandomFill = webCryptoFill): bigint {
  const bytes = fill(new Uint8Array(8));
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  return value;
}

/** RFC 8445 §5.3 credentials, each one given (or, unless `required`, left out); a TypeError naming the bad one. */
function checkCredentials(usernameFragment: unknown, password: unknown, required: boolean): void {
  if ((required || usernameFragment !== undefined) && !isValidUfrag(usernameFragment)) throw new TypeError(`usernameFragment ${JSON.stringify(usernameFragment)} is not 4 to 256 ice-chars (RFC 8445 §5.3)`);
  if ((required || password !== undefined) && !isValidPassword(password)) throw new TypeError('password is not 22 to 256 ice-chars (RFC 8445 §5.3)');
}

/** RFC 8445 §5.3: local credentials given as options that a peer's checks could never match are refused, not advertised. */
export function checkLocalCredentials(options: { usernameFragment?: string; password?: string }): void {
  checkCredentials(options.usernameFragment, options.password, false);
}

/**
 * The peer's parameters as setRemoteParameters takes them: RFC 8445 §5.3 credentials, `iceLite` a boolean
 * (a string 'false' would be truthy and make us take the controlling role, §6.1.1), `iceOptions` tags.
 */
export function checkRemoteParameters(parameters: { usernameFragment?: unknown; password?: unknown; iceLite?: unknown; iceOptions?: unknown } | null | undefined): void {
  checkCredentials(parameters?.usernameFragment, parameters?.password, true);
  const { iceLite, iceOptions } = parameters!;
  if (iceLite !== undefined && typeof iceLite !== 'boolean') throw new TypeError(`iceLite must be true or false, got ${JSON.stringify(iceLite)}`);
  if (iceOptions !== undefined && !(Array.isArray(iceOptions) && iceOptions.every((o) => typeof o === 'string'))) throw new TypeError('iceOptions must be an array of ice-option tags');
}
