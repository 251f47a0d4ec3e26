import { addressCodec } from './address-attributes.js';
import {
  type StunAttributeRow,
  bytesCodec,
  flagCodec,
  row,
  textCodec,
  uint16Codec,
  uint32Codec,
  uint64Codec,
  uint8Codec,
} from './attribute-codec.js';
import type { StunAttributeName } from './attribute-values.js';
import { StunAttributeType as T } from './constants.js';
import {
  addressErrorCodeCodec,
  changeRequestCodec,
  errorCodeCodec,
  evenPortCodec,
  familyCodec,
  icmpCodec,
  passwordAlgorithmCodec,
  passwordAlgorithmsCodec,
  unknownAttributesCodec,
} from './structured-attributes.js';

/** Largest value any attribute can have: the 16-bit message length minus one attribute header. */
const ANY = 0xffff - 4;

/**
 * The attribute table: one row per attribute type. Adding an attribute is adding a row here (and its value
 * type to StunAttributeValues). Length limits on text follow RFC 8489 §14.3/§14.9/§14.10/§14.14 for senders.
 */
export const STUN_ATTRIBUTES = [
  // RFC 8489 §14
  row(T.MAPPED_ADDRESS, 'MAPPED-ADDRESS', addressCodec(false)),
  row(T.XOR_MAPPED_ADDRESS, 'XOR-MAPPED-ADDRESS', addressCodec(true)),
  row(T.USERNAME, 'USERNAME', textCodec(513)),
  row(T.USERHASH, 'USERHASH', bytesCodec(32, 32)),
  row(T.MESSAGE_INTEGRITY, 'MESSAGE-INTEGRITY', bytesCodec(20, 20)),
  row(T.MESSAGE_INTEGRITY_SHA256, 'MESSAGE-INTEGRITY-SHA256', bytesCodec(16, 32, 4)),
  row(T.FINGERPRINT, 'FINGERPRINT', uint32Codec),
  row(T.ERROR_CODE, 'ERROR-CODE', errorCodeCodec),
  row(T.REALM, 'REALM', textCodec(763)),
  row(T.NONCE, 'NONCE', textCodec(763)),
  row(T.PASSWORD_ALGORITHMS, 'PASSWORD-ALGORITHMS', passwordAlgorithmsCodec),
  row(T.PASSWORD_ALGORITHM, 'PASSWORD-ALGORITHM', passwordAlgorithmCodec),
  row(T.UNKNOWN_ATTRIBUTES, 'UNKNOWN-ATTRIBUTES', unknownAttributesCodec),
  row(T.SOFTWARE, 'SOFTWARE', textCodec(763)),
  row(T.ALTERNATE_SERVER, 'ALTERNATE-SERVER', addressCodec(false)),
  row(T.ALTERNATE_DOMAIN, 'ALTERNATE-DOMAIN', textCodec(255)),
  // RFC 8445 §16.1 (ICE)
  row(T.PRIORITY, 'PRIORITY', uint32Codec),
  row(T.USE_CANDIDATE, 'USE-CANDIDATE', flagCodec),
  row(T.ICE_CONTROLLED, 'ICE-CONTROLLED', uint64Codec),
  row(T.ICE_CONTROLLING, 'ICE-CONTROLLING', uint64Codec),
  // RFC 8656 §18 (TURN)
  row(T.CHANNEL_NUMBER, 'CHANNEL-NUMBER', uint16Codec),
  row(T.LIFETIME, 'LIFETIME', uint32Codec),
  row(T.XOR_PEER_ADDRESS, 'XOR-PEER-ADDRESS', addressCodec(true)),
  row(T.DATA, 'DATA', bytesCodec(0, ANY)),
  row(T.XOR_RELAYED_ADDRESS, 'XOR-RELAYED-ADDRESS', addressCodec(true)),
  row(T.REQUESTED_ADDRESS_FAMILY, 'REQUESTED-ADDRESS-FAMILY', familyCodec),
  row(T.EVEN_PORT, 'EVEN-PORT', evenPortCodec),
  row(T.REQUESTED_TRANSPORT, 'REQUESTED-TRANSPORT', uint8Codec),
  row(T.DONT_FRAGMENT, 'DONT-FRAGMENT', flagCodec),
  row(T.RESERVATION_TOKEN, 'RESERVATION-TOKEN', bytesCodec(8, 8)),
  row(T.ADDITIONAL_ADDRESS_FAMILY, 'ADDITIONAL-ADDRESS-FAMILY', familyCodec),
  row(T.ADDRESS_ERROR_CODE, 'ADDRESS-ERROR-CODE', addressErrorCodeCodec),
  row(T.ICMP, 'ICMP', icmpCodec),
  // RFC 6062 §6.2 (TCP allocations)
  row(T.CONNECTION_ID, 'CONNECTION-ID', uint32Codec),
  // RFC 5780 §7 (NAT behaviour discovery)
  row(T.CHANGE_REQUEST, 'CHANGE-REQUEST', changeRequestCodec),
  row(T.RESPONSE_ORIGIN, 'RESPONSE-ORIGIN', addressCodec(false)),
  row(T.OTHER_ADDRESS, 'OTHER-ADDRESS', addressCodec(false)),
  row(T.RESPONSE_PORT, 'RESPONSE-PORT', uint16Codec),
  row(T.PADDING, 'PADDING', bytesCodec(0, ANY)),
  // draft-thatcher-ice-renomination §3 (ICE renomination, libwebrtc's 0xC001)
  row(T.NOMINATION, 'NOMINATION', uint32Codec),
] as const;

// Compile-time check that every name in StunAttributeValues has a row.
type MissingRow = Exclude<StunAttributeName, (typeof STUN_ATTRIBUTES)[number]['name']>;
const complete: [MissingRow] extends [never] ? true : MissingRow = true;
void complete;

const byType = new Map<number, StunAttributeRow>();
const byName = new Map<string, StunAttributeRow>();
for (const r of STUN_ATTRIBUTES as readonly StunAttributeRow[]) {
  byType.set(r.type, r);
  byName.set(r.name, r);
}

export function attributeByType(type: number): StunAttributeRow | undefined {
  return byType.get(type);
}

export function attributeByName<N extends StunAttributeName>(name: N): StunAttributeRow<N> | undefined;
export function attributeByName(name: string): StunAttributeRow | undefined;
export function attributeByName(name: string): StunAttributeRow | undefined {
  return byName.get(name);
}

/** RFC 8489 §14: types 0x0000-0x7FFF must be understood; a server answers others with 420 (§6.3.1). */
export function isComprehensionRequired(type: number): boolean {
  return type < 0x8000;
}
