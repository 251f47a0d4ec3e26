/**
 * IP address text as the simulated network keys it: one canonical spelling per address, so that
 * `2001:DB8:0::1` and `2001:db8::1` reach the same host. IPv4 is a strict dotted quad (no leading zeros);
 * IPv6 is printed per RFC 5952 (lower case, longest zero run as `::`, mixed notation for IPv4-mapped).
 * Zone identifiers are not modelled.
 */

/** The canonical text of an IPv4 or IPv6 literal, or undefined if it is not one. */
export function canonicalAddress(text: string): string | undefined {
  if (text.includes(':')) {
    const words = parseIPv6(text);
    return words === undefined ? undefined : formatIPv6(words);
  }
  const value = parseIPv4(text);
  return value === undefined ? undefined : formatIPv4(value);
}

/** Like `canonicalAddress`, for configuration: a bad literal is a programming error and throws. */
export function requireAddress(text: string, what: string): string {
  const canonical = typeof text === 'string' ? canonicalAddress(text) : undefined;
  if (canonical === undefined) throw new TypeError(`${what}: not an IP address: ${JSON.stringify(text)}`);
  return canonical;
}

/** A dotted quad as an unsigned 32-bit number; a character loop, as this runs for every datagram sent. */
export function parseIPv4(text: string): number | undefined {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x2e; // a virtual '.' ends the last octet
    if (c === 0x2e) {
      if (digits === 0 || parts === 4) return undefined;
      value = value * 256 + octet;
      parts++;
      octet = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && octet === 0) return undefined; // leading zero: octal in some parsers
      octet = octet * 10 + (c - 0x30);
      if (++digits > 3 || octet > 255) return undefined;
    } else {
      return undefined;
    }
  }
  return parts === 4 ? value : undefined;
}

export function formatIPv4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 0xff}.${(value >>> 8) & 0xff}.${value & 0xff}`;
}

/** Eight 16-bit words, or undefined. Accepts `::` once and a trailing dotted quad (RFC 4291 §2.2). */
function parseIPv6(text: string): number[] | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] === '' ? [] : halves[0].split(':');
  const tail = halves.length === 2 ? (halves[1] === '' ? [] : halves[1].split(':')) : [];
  const groups = halves.length === 2 ? tail : head;
  const words: number[] = [];
  const parseGroups = (list: string[], allowQuad: boolean): boolean => {
    for (let i = 0; i < list.length; i++) {
      const group = list[i];
      if (allowQuad && i === list.length - 1 && group.includes('.')) {
        const v4 = parseIPv4(group);
        if (v4 === undefined) return false;
        words.push(v4 >>> 16, v4 & 0xffff);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(group)) {
        words.push(parseInt(group, 16));
      } else {
        return false;
      }
    }
    return true;
  };
  if (halves.length === 1) {
    if (!parseGroups(groups, true) || words.length !== 8) return undefined;
    return words;
  }
  if (!parseGroups(head, false)) return undefined;
  const headWords = words.length;
  if (!parseGroups(tail, true)) return undefined;
  const tailWords = words.length - headWords;
  const missing = 8 - headWords - tailWords;
  if (missing < 1) return undefined; // '::' stands for at least one zero word
  words.splice(headWords, 0, ...new Array<number>(missing).fill(0));
  return words;
}

/** RFC 5952 §4: lower-case hex, no leading zeros, the longest run (>= 2) of zero words as `::`. */
function formatIPv6(words: number[]): string {
  const isMapped = words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff;
  if (isMapped) return `::ffff:${formatIPv4(words[6] * 0x10000 + words[7])}`; // RFC 5952 §5
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
