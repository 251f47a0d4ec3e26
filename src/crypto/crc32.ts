import { checkRange } from './block-hash.js';

/**
 * Slicing-by-8 tables for the reflected CRC-32 polynomial 0xEDB88320 (ISO 3309 / ITU-T V.42, the CRC of
 * zlib, Ethernet and STUN FINGERPRINT, RFC 8489 §14.7). Table k gives the CRC of a byte followed by k zero
 * bytes, so eight input bytes are folded per step with eight lookups instead of eight dependent ones.
 */
const TABLES = buildTables();

function buildTables(): Int32Array {
  const t = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n];
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff] ^ (c >>> 8);
      t[k * 256 + n] = c;
    }
  }
  return t;
}

/** CRC-32/ISO-HDLC of `data[start, end)` as an unsigned 32-bit number (check value of "123456789": 0xCBF43926). */
export function crc32(data: Uint8Array, start = 0, end = data.length): number {
  checkRange(data, start, end);
  const t = TABLES;
  let c = -1;
  let i = start;
  for (const stop = end - 7; i < stop; i += 8) {
    c ^= data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24);
    c =
      t[1792 + (c & 0xff)] ^
      t[1536 + ((c >>> 8) & 0xff)] ^
      t[1280 + ((c >>> 16) & 0xff)] ^
      t[1024 + (c >>> 24)] ^
      t[768 + data[i + 4]] ^
      t[512 + data[i + 5]] ^
      t[256 + data[i + 6]] ^
      t[data[i + 7]];
  }
  for (; i < end; i++) c = t[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
