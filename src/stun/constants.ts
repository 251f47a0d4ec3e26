/** RFC 8489 §5: the fixed value in bytes 4..7 of every STUN message since RFC 5389. */
export const MAGIC_COOKIE = 0x2112a442;

/** RFC 8489 §14.7: the CRC-32 is XORed with this ("STUN") so an application CRC is not mistaken for it. */
export const FINGERPRINT_XOR = 0x5354554e;

/** RFC 8489 §5: every message starts with a 20-byte header. */
export const HEADER_LENGTH = 20;

/** The 16-bit message length limits a message to this many bytes including the header. */
export const MAX_MESSAGE_LENGTH = 0xffff - 3 + HEADER_LENGTH;

/** Method numbers: RFC 8489 §18.2 (Binding) and RFC 8656 §17 (TURN). */
export const StunMethod = {
  Binding: 0x001,
  Allocate: 0x003,
  Refresh: 0x004,
  Send: 0x006,
  Data: 0x007,
  CreatePermission: 0x008,
  ChannelBind: 0x009,
  /** RFC 6062 §6.1: TCP relay allocations. */
  Connect: 0x00a,
  ConnectionBind: 0x00b,
  ConnectionAttempt: 0x00c,
} as const;

export type StunMethodName = keyof typeof StunMethod;

/** RFC 8489 §5: the two class bits C1 C0 — 0b00 request, 0b01 indication, 0b10 success, 0b11 error. */
export type StunClass = 'request' | 'indication' | 'success' | 'error';

/**
 * Attribute type numbers. RFC 8489 §18.3, RFC 8445 §16.1 (ICE), RFC 8656 §18 (TURN), RFC 5780 §9.1.
 * 0x0000-0x7FFF are comprehension-required, 0x8000-0xFFFF comprehension-optional (RFC 8489 §14).
 */
export const StunAttributeType = {
  MAPPED_ADDRESS: 0x0001,
  CHANGE_REQUEST: 0x0003,
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  UNKNOWN_ATTRIBUTES: 0x000a,
  CHANNEL_NUMBER: 0x000c,
  LIFETIME: 0x000d,
  XOR_PEER_ADDRESS: 0x0012,
  DATA: 0x0013,
  REALM: 0x0014,
  NONCE: 0x0015,
  XOR_RELAYED_ADDRESS: 0x0016,
  REQUESTED_ADDRESS_FAMILY: 0x0017,
  EVEN_PORT: 0x0018,
  REQUESTED_TRANSPORT: 0x0019,
  DONT_FRAGMENT: 0x001a,
  MESSAGE_INTEGRITY_SHA256: 0x001c,
  PASSWORD_ALGORITHM: 0x001d,
  USERHASH: 0x001e,
  XOR_MAPPED_ADDRESS: 0x0020,
  RESERVATION_TOKEN: 0x0022,
  /** RFC 6062 §6.2.1. */
  CONNECTION_ID: 0x002a,
  PRIORITY: 0x0024,
  USE_CANDIDATE: 0x0025,
  PADDING: 0x0026,
  RESPONSE_PORT: 0x0027,
  ADDITIONAL_ADDRESS_FAMILY: 0x8000,
  ADDRESS_ERROR_CODE: 0x8001,
  PASSWORD_ALGORITHMS: 0x8002,
  ALTERNATE_DOMAIN: 0x8003,
  ICMP: 0x8004,
  SOFTWARE: 0x8022,
  ALTERNATE_SERVER: 0x8023,
  FINGERPRINT: 0x8028,
  ICE_CONTROLLED: 0x8029,
  ICE_CONTROLLING: 0x802a,
  RESPONSE_ORIGIN: 0x802b,
  OTHER_ADDRESS: 0x802c,
  // draft-thatcher-ice-renomination §3: no IANA number; 0xC001 is what libwebrtc sends and reads.
  NOMINATION: 0xc001,
} as const;

/** RFC 8489 §18.5: PASSWORD-ALGORITHM numbers. */
export const PasswordAlgorithm = {
  MD5: 0x0001,
  SHA256: 0x0002,
} as const;

/** RFC 8656 §3.2 / §18.8: the only REQUESTED-TRANSPORT protocol TURN allows. */
export const TRANSPORT_UDP = 17;

/** RFC 6062 §4.1: REQUESTED-TRANSPORT for a TCP allocation. */
export const TRANSPORT_TCP = 6;
