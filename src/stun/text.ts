import { utf8Decode, utf8DecodeStrict, utf8Encode } from '../crypto/index.js';

/**
 * UTF-8 for attribute values with an ASCII fast path: ICE usernames, realms and nonces are ASCII, and
 * a TextEncoder/TextDecoder call per attribute costs more than the whole rest of a Binding check.
 */

/** Bytes `s` takes in UTF-8 (a lone surrogate counts as U+FFFD, 3 bytes, as utf8Encode writes it). */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      n += 1;
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2; // a surrogate pair: 2 code units, 4 bytes
      i++;
    } else {
      n += 2;
    }
  }
  return n;
}

/** Writes `s` (whose UTF-8 length is `length`) at `offset`. */
export function writeUtf8(s: string, out: Uint8Array, offset: number, length: number): void {
  if (length === s.length) {
    for (let i = 0; i < length; i++) out[offset + i] = s.charCodeAt(i);
  } else {
    out.set(utf8Encode(s), offset);
  }
}

/** Text of bytes[start, end); malformed sequences become U+FFFD rather than throwing. */
export function readUtf8(bytes: Uint8Array, start: number, end: number): string {
  if (end - start > 64) return utf8Decode(bytes, start, end);
  let s = '';
  for (let i = start; i < end; i++) {
    const b = bytes[i];
    if (b >= 0x80) return utf8Decode(bytes, start, end);
    s += String.fromCharCode(b);
  }
  return s;
}

/** Whether bytes[start, end) is well-formed UTF-8, so that readUtf8 then writeUtf8 gives the same bytes back. */
export function isExactUtf8(bytes: Uint8Array, start: number, end: number): boolean {
  let i = start;
  while (i < end && bytes[i] < 0x80) i++;
  if (i === end) return true;
  try {
    utf8DecodeStrict(bytes, start, end);
    return true;
  } catch {
    return false;
  }
}
