import { HEADER_LENGTH, MAGIC_COOKIE } from './constants.js';

export type DatagramKind = 'stun' | 'channel-data' | 'dtls' | 'rtp' | 'other';

export interface ClassifyOptions {
  /**
   * Also accept RFC 3489 STUN (no magic cookie) when the first byte is 0..3 and the length field matches the
   * datagram, as a server answering old clients needs. Default false.
   */
  classicStun?: boolean;
  /**
   * Also take first bytes 80..127 as ChannelData: RFC 5766 §11's channel numbers 0x5000-0x7FFF, which a
   * TURN server accepting that range needs (RFC 7983 §7 gives only 64..79 to TURN). Default false.
   */
  wideChannels?: boolean;
}

/**
 * RFC 7983 §7 demultiplexing by the first byte, plus the magic cookie for STUN (RFC 8489 §5: first byte
 * 0..3 and the cookie in bytes 4..7; a bad length is then the decoder's to report) — decided
 * from a few header bytes, never by trying to parse. 0..3 STUN, 20..63 DTLS, 64..79 TURN ChannelData
 * (channel numbers 0x4000-0x4FFF, RFC 8656 §12), 128..191 RTP/RTCP; the rest (ZRTP, QUIC, …) is 'other'.
 */
export function classifyDatagram(bytes: Uint8Array, options?: ClassifyOptions): DatagramKind {
  if (bytes.length === 0) return 'other';
  const first = bytes[0];
  if (first < 4) {
    if (bytes.length >= HEADER_LENGTH && readCookie(bytes) === MAGIC_COOKIE) return 'stun';
    if (options?.classicStun === true && isClassicStunHeader(bytes)) return 'stun';
    return 'other';
  }
  if (first >= 20 && first <= 63) return 'dtls';
  // RFC 8656 §12.4: a ChannelData message has a 4-byte header (channel number, length).
  if (first >= 0x40 && (first <= 0x4f || (first <= 0x7f && options?.wideChannels === true))) return bytes.length >= 4 ? 'channel-data' : 'other';
  if (first >= 128 && first <= 191) return 'rtp';
  return 'other';
}

/**
 * Stricter than classifyDatagram's 'stun': the whole header is plausible — top bits 00, magic cookie, and a
 * length that is a multiple of 4 and fills the datagram (RFC 8489 §5). Attributes are not looked at.
 */
export function isStunMessage(bytes: Uint8Array): boolean {
  return isClassicStunHeader(bytes) && readCookie(bytes) === MAGIC_COOKIE;
}

/** Bytes 4..7 of a STUN header: the magic cookie, or part of an RFC 3489 transaction ID. */
export function readCookie(bytes: Uint8Array): number {
  return ((bytes[4] << 24) | (bytes[5] << 16) | (bytes[6] << 8) | bytes[7]) >>> 0;
}

function isClassicStunHeader(bytes: Uint8Array): boolean {
  return (
    bytes.length >= HEADER_LENGTH &&
    (bytes[0] & 0xc0) === 0 &&
    (bytes[3] & 3) === 0 &&
    ((bytes[2] << 8) | bytes[3]) + HEADER_LENGTH === bytes.length
  );
}
