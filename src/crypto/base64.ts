/** RFC 4648 §4: the standard alphabet (not the URL-safe one of §5). */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Sextet value of each ASCII character, or -1 for characters outside the alphabet. */
const DECODE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

/** Padded standard base64 of `bytes` (RFC 4648 §4), as `btoa` would give for a byte string. */
export function toBase64(bytes: Uint8Array): string {
  let s = '';
  const whole = bytes.length - (bytes.length % 3);
  let i = 0;
  for (; i < whole; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    s += ALPHABET[n >>> 18] + ALPHABET[(n >>> 12) & 63] + ALPHABET[(n >>> 6) & 63] + ALPHABET[n & 63];
  }
  if (bytes.length - whole === 1) {
    const n = bytes[i] << 16;
    s += ALPHABET[n >>> 18] + ALPHABET[(n >>> 12) & 63] + '==';
  } else if (bytes.length - whole === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    s += ALPHABET[n >>> 18] + ALPHABET[(n >>> 12) & 63] + ALPHABET[(n >>> 6) & 63] + '=';
  }
  return s;
}

/**
 * Bytes of standard base64, decoded exactly as `atob` does (the WHATWG "forgiving-base64 decode"):
 * ASCII whitespace is ignored, padding may be omitted, and leftover bits are dropped. Anything else
 * (a foreign character, misplaced `=`, a length that cannot come from whole bytes) is a TypeError.
 */
export function fromBase64(s: string): Uint8Array {
  let text = s.replace(/[\t\n\f\r ]+/g, '');
  if (text.length % 4 === 0) {
    if (text.endsWith('==')) text = text.slice(0, -2);
    else if (text.endsWith('=')) text = text.slice(0, -1);
  }
  if (text.length % 4 === 1) throw new TypeError(`base64 of ${text.length} characters cannot encode whole bytes`);
  const out = new Uint8Array(Math.floor((text.length * 6) / 8));
  let bits = 0;
  let bitCount = 0;
  let o = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const v = code < 128 ? DECODE[code] : -1;
    if (v < 0) throw new TypeError(`not a base64 character: ${JSON.stringify(text[i])} at ${i}`);
    bits = ((bits << 6) | v) & 0xffffff;
    bitCount += 6;
    if (bitCount >= 8) {
      bitCount -= 8;
      out[o++] = bits >>> bitCount;
    }
  }
  return out;
}
