// The Binding success response, written directly: the STUN server's hot path (one per request). Same bytes
// as createStunMessage + encodeStunMessage would give, without building a message object: header,
// XOR-MAPPED-ADDRESS (RFC 8489 §14.2), SOFTWARE, and FINGERPRINT when the request had one (§14.7). An RFC 5780
// server adds MAPPED-ADDRESS and its prepared RESPONSE-ORIGIN/OTHER-ADDRESS bytes (and PADDING) — `extras`.
import { crc32 } from '../crypto/index.js';
import { writeIp } from '../net/ip.js';
import type { TransportAddress } from '../net/transport-address.js';
import { FINGERPRINT_XOR, HEADER_LENGTH, MAGIC_COOKIE, StunAttributeType as T, StunMethod } from '../stun/constants.js';
import { encodeMessageType } from '../stun/header.js';
import type { StunMessage } from '../stun/message.js';
import { allocateOutput } from './output-slab.js';

const SUCCESS_TYPE = encodeMessageType(StunMethod.Binding, 'success');
const address = new Uint8Array(16);

/** RFC 5780 §6.1 additions, prepared once per (socket, CHANGE-REQUEST flags): the hot path only copies them. */
export interface BindingSuccessExtras {
  /** Add MAPPED-ADDRESS too (RFC 5780 §6.1: the response MUST include both). */
  readonly mappedAddress: boolean;
  /** Encoded attributes (RESPONSE-ORIGIN, OTHER-ADDRESS), copied in after the mapped addresses. */
  readonly attributes: Uint8Array;
  /** Length of a PADDING value to add (RFC 5780 §7.6), a multiple of 4; 0 for none. */
  readonly paddingLength: number;
}

/** `software` is the SOFTWARE value already UTF-8 encoded (empty: none). */
export function encodeBindingSuccess(
  request: StunMessage,
  from: TransportAddress,
  software: Uint8Array,
  fingerprint: boolean,
  extras?: BindingSuccessExtras,
): Uint8Array {
  const family = writeIp(from.address, address, 0);
  const addressLength = family === 16 ? 20 : 8;
  const softwareLength = software.length === 0 ? 0 : 4 + ((software.length + 3) & ~3);
  const extrasLength =
    extras === undefined ? 0 : (extras.mappedAddress ? 4 + addressLength : 0) + extras.attributes.length + (extras.paddingLength > 0 ? 4 + extras.paddingLength : 0);
  const total = HEADER_LENGTH + 4 + addressLength + extrasLength + softwareLength + (fingerprint ? 8 : 0);
  const out = allocateOutput(total);
  const view = new DataView(out.buffer, out.byteOffset, total);
  view.setUint16(0, SUCCESS_TYPE);
  view.setUint16(2, total - HEADER_LENGTH);
  view.setUint32(4, MAGIC_COOKIE);
  out.set(request.transactionId, 8);

  let at = HEADER_LENGTH;
  view.setUint16(at, T.XOR_MAPPED_ADDRESS);
  view.setUint16(at + 2, addressLength);
  out[at + 5] = family === 16 ? 0x02 : 0x01;
  view.setUint16(at + 6, from.port ^ (MAGIC_COOKIE >>> 16));
  // §14.2: XOR with the cookie, and for IPv6 with cookie ‖ transaction ID (the header bytes 4..19).
  for (let i = 0; i < family; i++) out[at + 8 + i] = address[i] ^ out[4 + i];
  at += 4 + addressLength;

  if (extras !== undefined) {
    if (extras.mappedAddress) {
      view.setUint16(at, T.MAPPED_ADDRESS);
      view.setUint16(at + 2, addressLength);
      out[at + 5] = family === 16 ? 0x02 : 0x01;
      view.setUint16(at + 6, from.port);
      out.set(family === 16 ? address : address.subarray(0, 4), at + 8);
      at += 4 + addressLength;
    }
    out.set(extras.attributes, at);
    at += extras.attributes.length;
    if (extras.paddingLength > 0) {
      // The value does not matter (§7.6); the slab hands out zeroed bytes.
      view.setUint16(at, T.PADDING);
      view.setUint16(at + 2, extras.paddingLength);
      at += 4 + extras.paddingLength;
    }
  }

  if (softwareLength > 0) {
    view.setUint16(at, T.SOFTWARE);
    view.setUint16(at + 2, software.length);
    out.set(software, at + 4);
    at += softwareLength;
  }
  if (fingerprint) {
    view.setUint16(at, T.FINGERPRINT);
    view.setUint16(at + 2, 4);
    view.setUint32(at + 4, (crc32(out, 0, at) ^ FINGERPRINT_XOR) >>> 0);
  }
  return out;
}
