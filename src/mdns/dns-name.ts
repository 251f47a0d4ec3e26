// Domain names on the wire (RFC 1035 §3.1, §4.1.4): length-prefixed labels, and compression pointers on
// decode. Names are written uncompressed: mDNS one-shot messages carry one or two names, so compression
// would save a few bytes at the cost of a second code path.
import { utf8Decode, utf8Encode } from '../crypto/utf8.js';
import { DnsParseError } from './dns-errors.js';

/** RFC 1035 §2.3.4: labels are 63 bytes or less, names 255 bytes or less (length bytes included). */
export const MAX_LABEL_BYTES = 63;
export const MAX_NAME_BYTES = 255;

/** A decoded name and the offset just after it where it was read (after the first pointer, if any). */
export interface DecodedName {
  name: string;
  end: number;
}

/**
 * Reads the name at `offset`. Pointers must point strictly before the label that holds them (RFC 1035
 * §4.1.4 "a prior occurrence"), so decoding always ends and never loops. Labels are UTF-8 (RFC 6762 §16).
 */
export function decodeName(bytes: Uint8Array, offset: number): DecodedName {
  const labels: string[] = [];
  let at = offset;
  let end: number | undefined;
  let wireLength = 1;
  // Each pointer must land before the name's start and before every earlier pointer's target: the targets
  // strictly decrease, so the walk always ends.
  let limit = offset;
  for (;;) {
    if (at >= bytes.length) throw new DnsParseError('TRUNCATED', at, 'name runs past the end of the message');
    const length = bytes[at];
    const kind = length & 0xc0;
    if (kind === 0xc0) {
      if (at + 1 >= bytes.length) throw new DnsParseError('TRUNCATED', at, 'compression pointer cut short');
      const target = ((length & 0x3f) << 8) | bytes[at + 1];
      if (end === undefined) end = at + 2;
      if (target >= limit) throw new DnsParseError('NAME_POINTER', at, `pointer to ${target} does not point backwards`);
      limit = target;
      at = target;
      continue;
    }
    if (kind !== 0) throw new DnsParseError('LABEL_TYPE', at, `reserved label type 0x${kind.toString(16)}`);
    if (length === 0) {
      if (end === undefined) end = at + 1;
      break;
    }
    if (at + 1 + length > bytes.length) throw new DnsParseError('TRUNCATED', at, `label of ${length} bytes runs past the end`);
    wireLength += 1 + length;
    if (wireLength > MAX_NAME_BYTES) throw new DnsParseError('NAME_LENGTH', offset, `name longer than ${MAX_NAME_BYTES} bytes`);
    labels.push(utf8Decode(bytes, at + 1, at + 1 + length));
    at += 1 + length;
  }
  return { name: labels.join('.'), end };
}

/** The wire form of `name` (dotted; a trailing dot is allowed; the root is '' or '.'). */
export function encodeName(name: string): Uint8Array {
  const text = name.endsWith('.') ? name.slice(0, -1) : name;
  const labels = text === '' ? [] : text.split('.');
  const parts = labels.map((label) => utf8Encode(label));
  let size = 1;
  for (const [i, p] of parts.entries()) {
    if (p.length === 0) throw new DnsParseError('ENCODE', 0, `empty label ${i} in '${name}'`);
    if (p.length > MAX_LABEL_BYTES) throw new DnsParseError('LABEL_LENGTH', 0, `label '${labels[i]}' is ${p.length} bytes, at most ${MAX_LABEL_BYTES}`);
    size += 1 + p.length;
  }
  if (size > MAX_NAME_BYTES) throw new DnsParseError('NAME_LENGTH', 0, `'${name}' is ${size} bytes, at most ${MAX_NAME_BYTES}`);
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out[at++] = p.length;
    out.set(p, at);
    at += p.length;
  }
  out[at] = 0;
  return out;
}

/** DNS names compare case-insensitively (RFC 1035 §2.3.3; RFC 6762 §16 for the ASCII range). */
export function sameName(a: string, b: string): boolean {
  return canonicalName(a) === canonicalName(b);
}

/** The form names are keyed by: ASCII lower case, no trailing dot. */
export function canonicalName(name: string): string {
  const text = name.endsWith('.') ? name.slice(0, -1) : name;
  return text.replace(/[A-Z]+/g, (s) => s.toLowerCase());
}
