import { checkRange } from './block-hash.js';

const encoder = new TextEncoder();
// ignoreBOM keeps a leading U+FEFF as text: in a USERNAME or REALM it is data, not a byte-order mark.
const lenientDecoder = new TextDecoder('utf-8', { ignoreBOM: true });
const strictDecoder = new TextDecoder('utf-8', { ignoreBOM: true, fatal: true });

/** UTF-8 bytes of `s`; a lone surrogate becomes U+FFFD (EF BF BD), as the Encoding Standard specifies. */
export function utf8Encode(s: string): Uint8Array {
  return encoder.encode(s);
}

/** Text of `bytes[start, end)`; malformed sequences become U+FFFD, so peer-supplied bytes never throw. */
export function utf8Decode(bytes: Uint8Array, start = 0, end = bytes.length): string {
  checkRange(bytes, start, end);
  return lenientDecoder.decode(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end));
}

/** Text of `bytes[start, end)`; throws a TypeError on malformed UTF-8, for where RFC 8265 demands validity. */
export function utf8DecodeStrict(bytes: Uint8Array, start = 0, end = bytes.length): string {
  checkRange(bytes, start, end);
  try {
    return strictDecoder.decode(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end));
  } catch {
    throw new TypeError(`invalid UTF-8 in bytes ${start}..${end}`);
  }
}
