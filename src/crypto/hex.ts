/** "00".."ff", so encoding is one lookup per byte. */
const BYTE_TO_HEX: readonly string[] = Array.from({ length: 256 }, (_, n) => n.toString(16).padStart(2, '0'));

/** Lower-case hex of `bytes`, two digits per byte, no separators. */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_HEX[bytes[i]];
  return s;
}

/** Value of one hex digit, or -1. */
function nibble(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30; // 0-9
  const lower = code | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10; // a-f, A-F
  return -1;
}

/**
 * Bytes of a hex string in either case. Whitespace is ignored so RFC test vectors can be pasted as printed;
 * an odd number of digits or any other character is a TypeError.
 */
export function fromHex(hex: string): Uint8Array {
  const digits = hex.replace(/\s+/g, '');
  if (digits.length % 2 !== 0) throw new TypeError(`hex string has an odd number of digits (${digits.length})`);
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = nibble(digits.charCodeAt(2 * i));
    const lo = nibble(digits.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) {
      const at = hi < 0 ? 2 * i : 2 * i + 1;
      throw new TypeError(`not a hex digit: ${JSON.stringify(digits[at])} at digit ${at}`);
    }
    out[i] = (hi << 4) | lo;
  }
  return out;
}
