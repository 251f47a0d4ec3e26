import type { AddressFamily, TransportAddress } from '../net/transport-address.js';

/** ERROR-CODE, RFC 8489 §14.8: code 300..699 and a reason phrase. */
export interface StunErrorCode {
  readonly code: number;
  readonly reason: string;
}

/** ADDRESS-ERROR-CODE, RFC 8656 §18.12: why the server could not allocate `family` (440 or 508). */
export interface StunAddressErrorCode {
  readonly family: AddressFamily;
  readonly code: number;
  readonly reason: string;
}

/** One entry of PASSWORD-ALGORITHMS / the value of PASSWORD-ALGORITHM, RFC 8489 §14.11-§14.12. */
export interface StunPasswordAlgorithm {
  readonly algorithm: number;
  readonly parameters: Uint8Array;
}

/** EVEN-PORT, RFC 8656 §18.7. */
export interface StunEvenPort {
  readonly reservePort: boolean;
}

/** CHANGE-REQUEST, RFC 5780 §7.2. */
export interface StunChangeRequest {
  readonly changeIp: boolean;
  readonly changePort: boolean;
}

/** ICMP, RFC 8656 §18.13. `data` is the next-hop MTU for "packet too big", else 0. */
export interface StunIcmp {
  readonly type: number;
  readonly code: number;
  readonly data: number;
}

/** The value type of every attribute in the table, by RFC name. */
export interface StunAttributeValues {
  'MAPPED-ADDRESS': TransportAddress;
  'XOR-MAPPED-ADDRESS': TransportAddress;
  'ALTERNATE-SERVER': TransportAddress;
  'XOR-PEER-ADDRESS': TransportAddress;
  'XOR-RELAYED-ADDRESS': TransportAddress;
  'RESPONSE-ORIGIN': TransportAddress;
  'OTHER-ADDRESS': TransportAddress;
  USERNAME: string;
  REALM: string;
  NONCE: string;
  SOFTWARE: string;
  'ALTERNATE-DOMAIN': string;
  USERHASH: Uint8Array;
  'MESSAGE-INTEGRITY': Uint8Array;
  'MESSAGE-INTEGRITY-SHA256': Uint8Array;
  FINGERPRINT: number;
  'ERROR-CODE': StunErrorCode;
  'PASSWORD-ALGORITHMS': readonly StunPasswordAlgorithm[];
  'PASSWORD-ALGORITHM': StunPasswordAlgorithm;
  'UNKNOWN-ATTRIBUTES': readonly number[];
  PRIORITY: number;
  'USE-CANDIDATE': true;
  'ICE-CONTROLLED': bigint;
  'ICE-CONTROLLING': bigint;
  'CHANNEL-NUMBER': number;
  LIFETIME: number;
  DATA: Uint8Array;
  'REQUESTED-ADDRESS-FAMILY': AddressFamily;
  'EVEN-PORT': StunEvenPort;
  'REQUESTED-TRANSPORT': number;
  'DONT-FRAGMENT': true;
  'RESERVATION-TOKEN': Uint8Array;
  'ADDITIONAL-ADDRESS-FAMILY': AddressFamily;
  'ADDRESS-ERROR-CODE': StunAddressErrorCode;
  ICMP: StunIcmp;
  /** RFC 6062 §6.2.1: identifies a peer data connection. */
  'CONNECTION-ID': number;
  'CHANGE-REQUEST': StunChangeRequest;
  /** draft-thatcher-ice-renomination §3: the controlling agent's nomination counter; the highest wins. */
  NOMINATION: number;
  'RESPONSE-PORT': number;
  PADDING: Uint8Array;
}

export type StunAttributeName = keyof StunAttributeValues;

/**
 * A decoded or to-be-sent attribute of a known type. `padding` holds the original padding bytes packed
 * big-endian (first pad byte most significant) so a decoded message re-encodes byte-exact; 0 means zeros.
 */
export interface StunKnownAttribute<N extends StunAttributeName = StunAttributeName> {
  readonly type: number;
  readonly name: N;
  readonly value: StunAttributeValues[N];
  readonly padding?: number;
  /**
   * Set by the decoder only, and only where `value` cannot give back the bytes received: nonzero reserved
   * bits (RFC 8489 §14.1, §14.8; RFC 8656 §18; RFC 5780 §7), text that is not UTF-8 or longer than a sender
   * may write (RFC 8489 §14.3, §14.9, §14.10), NULs after a reason phrase, nonzero padding inside
   * PASSWORD-ALGORITHMS. The encoder then writes these bytes instead of `value`, unchecked, so decode then
   * encode is the identity. XOR-address bytes are kept with the XOR undone (§14.2), so they stay right
   * under another transaction ID. Non-enumerable, so `{ ...attribute, value }` is a fresh attribute encoded
   * from its value; such an attribute and its value are frozen, so `raw` cannot disagree with `value`.
   */
  readonly raw?: Uint8Array;
}

/**
 * An attribute kept as bytes: a type not in the table, or an XOR-address attribute in an RFC 3489
 * message (no magic cookie, so it cannot be un-XORed).
 */
export interface StunRawAttribute {
  readonly type: number;
  readonly name: undefined;
  readonly value: Uint8Array;
  readonly padding?: number;
}

/**
 * An attribute RFC 8489 §9 says to ignore — after MESSAGE-INTEGRITY anything but MESSAGE-INTEGRITY-SHA256
 * and FINGERPRINT, after MESSAGE-INTEGRITY-SHA256 anything but FINGERPRINT — kept as bytes with its place,
 * so the message re-encodes as received.
 */
export interface StunIgnoredAttribute extends StunRawAttribute {
  /** Index in the message's `attributes` of the attribute it came before; `attributes.length` if none. */
  readonly before: number;
}

export type StunAttribute = { [N in StunAttributeName]: StunKnownAttribute<N> }[StunAttributeName] | StunRawAttribute;

/** An attribute as written by hand: `['PRIORITY', 123]`, or `[0x8055, bytes]` for a raw one. */
export type StunAttributeEntry =
  | { [N in StunAttributeName]: readonly [N, StunAttributeValues[N]] }[StunAttributeName]
  | readonly [number, Uint8Array];
