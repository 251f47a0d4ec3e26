/**
 * IP address text <-> bytes, without `node:net`, so the codec runs in a Worker.
 * IPv4 in dotted-quad form only (no octal, no shorthand like `127.1`); IPv6 per RFC 4291 §2.2,
 * printed per RFC 5952.
 */

/** Parses an IPv4 or IPv6 literal into 4 or 16 network-order bytes; a `%zone` suffix is dropped. */
export function parseIp(text: string): Uint8Array {
  const scratch = new Uint8Array(16);
  const length = writeIp(text, scratch, 0);
  if (length === 0) throw new TypeError(`invalid IP address: ${JSON.stringify(text)}`);
  return length === 4 ? scratch.slice(0, 4) : scratch;
}

export function isIp(text: string): boolean {
  return writeIp(text, new Uint8Array(16), 0) !== 0;
}

/**
 * Writes the bytes of an IP literal into `out` at `offset` (room for 16 needed) and returns 4 or 16,
 * or 0 for text that is not an address. For encoders that write addresses straight into a packet.
 */
export function writeIp(text: string, out: Uint8Array, offset: number): 0 | 4 | 16 {
  if (typeof text !== 'string') return 0;
  if (text.includes(':')) return parseIpv6Into(text, out, offset) ? 16 : 0;
  return parseIpv4Into(text, 0, text.length, out, offset) ? 4 : 0;
}

/** Dotted quad in text[start, end) into out[at..at+4]; rejects leading zeros (ambiguous octal). */
function parseIpv4Into(text: string, start: number, end: number, out: Uint8Array, at: number): boolean {
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = start; i <= end; i++) {
    const c = i < end ? text.charCodeAt(i) : 0x2e; // a virtual '.' closes the last part
    if (c === 0x2e) {
      if (digits === 0 || part === 4) return false;
      out[at + part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && value === 0) return false;
      value = value * 10 + (c - 0x30);
      if (++digits > 3 || value > 255) return false;
    } else {
      return false;
    }
  }
  return part === 4;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

function parseIpv6Into(input: string, out: Uint8Array, at: number): boolean {
  let end = input.indexOf('%');
  if (end === 0 || end === input.length - 1) return false; // empty address or empty zone
  if (end < 0) end = input.length;
  out.fill(0, at, at + 16);
  // 16-bit groups in text order; those after the '::' are shifted right to the end of the address.
  const words: number[] = [];
  let gap = -1; // index in `words` where '::' sits
  let i = 0;
  if (input.startsWith('::')) {
    gap = 0;
    i = 2;
    if (i === end) return true; // '::'
  } else if (input.charCodeAt(0) === 0x3a) {
    return false; // a single leading ':'
  }
  for (;;) {
    // One group: up to 4 hex digits, or a dotted quad as the last 32 bits.
    let j = i;
    let value = 0;
    while (j < end && j - i < 5) {
      const h = hexValue(input.charCodeAt(j));
      if (h < 0) break;
      value = (value << 4) | h;
      j++;
    }
    if (j < end && input.charCodeAt(j) === 0x2e) {
      if (words.length > 6) return false;
      const v4 = new Uint8Array(4);
      if (!parseIpv4Into(input, i, end, v4, 0)) return false;
      words.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      break;
    }
    if (j === i || j - i > 4) return false;
    words.push(value);
    if (words.length > 8) return false;
    if (j === end) break;
    if (input.charCodeAt(j) !== 0x3a) return false;
    if (j + 1 < end && input.charCodeAt(j + 1) === 0x3a) {
      if (gap >= 0) return false; // a second '::'
      gap = words.length;
      i = j + 2;
      if (i === end) break; // trailing '::'
    } else {
      i = j + 1;
      if (i === end) return false; // trailing single ':'
    }
  }
  if (gap < 0) {
    if (words.length !== 8) return false;
  } else if (words.length > 7) {
    return false; // '::' must stand for at least one zero group (RFC 4291 §2.2)
  }
  const tailStart = gap < 0 ? words.length : gap;
  for (let k = 0; k < tailStart; k++) {
    out[at + 2 * k] = words[k] >> 8;
    out[at + 2 * k + 1] = words[k] & 0xff;
  }
  const shift = 8 - words.length;
  for (let k = tailStart; k < words.length; k++) {
    out[at + 2 * (k + shift)] = words[k] >> 8;
    out[at + 2 * (k + shift) + 1] = words[k] & 0xff;
  }
  return true;
}

/** Formats 4 or 16 network-order bytes; IPv6 per RFC 5952 §4, IPv4-mapped in mixed notation (§5). */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length !== 4 && bytes.length !== 16) {
    throw new TypeError(`an IP address is 4 or 16 bytes, got ${bytes.length}`);
  }
  return formatIpAt(bytes, 0, bytes.length);
}

/** formatIp of bytes[offset, offset + length), for decoders reading addresses in place; length is 4 or 16. */
export function formatIpAt(bytes: Uint8Array, offset: number, length: 4 | 16 | number): string {
  const b = offset;
  if (length === 4) return `${bytes[b]}.${bytes[b + 1]}.${bytes[b + 2]}.${bytes[b + 3]}`;
  if (isIpv4Mapped(bytes, b)) return `::ffff:${bytes[b + 12]}.${bytes[b + 13]}.${bytes[b + 14]}.${bytes[b + 15]}`;
  // RFC 5952 §4.2: compress the longest run of two or more zero groups, the first one on a tie.
  let bestStart = -1;
  let bestLength = 1;
  let runStart = -1;
  for (let g = 0; g <= 8; g++) {
    const zero = g < 8 && bytes[b + 2 * g] === 0 && bytes[b + 2 * g + 1] === 0;
    if (zero) {
      if (runStart < 0) runStart = g;
    } else if (runStart >= 0) {
      if (g - runStart > bestLength) {
        bestStart = runStart;
        bestLength = g - runStart;
      }
      runStart = -1;
    }
  }
  let text = '';
  for (let g = 0; g < 8; g++) {
    if (g === bestStart) {
      text += '::';
      g += bestLength - 1;
      continue;
    }
    if (text.length > 0 && !text.endsWith(':')) text += ':';
    text += ((bytes[b + 2 * g] << 8) | bytes[b + 2 * g + 1]).toString(16);
  }
  return text;
}

function isIpv4Mapped(bytes: Uint8Array, b: number): boolean {
  for (let i = 0; i < 10; i++) if (bytes[b + i] !== 0) return false;
  return bytes[b + 10] === 0xff && bytes[b + 11] === 0xff;
}
