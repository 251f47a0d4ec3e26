/**
 * Stable codes for why bytes are not a STUN message we accept (DESIGN.md rule 3). Offsets are from the
 * start of the message: 0 for header problems, the attribute's type field for attribute problems.
 *
 * - `TRUNCATED`            fewer than the 20 header bytes
 * - `NOT_STUN`             the two most significant bits are not zero (RFC 8489 §5)
 * - `LENGTH_NOT_ALIGNED`   the message length is not a multiple of 4 (RFC 8489 §5)
 * - `LENGTH_MISMATCH`      the message length is not the datagram length minus 20
 * - `ATTR_TRUNCATED`       an attribute header, value or padding runs past the end of the message
 * - `ATTR_LENGTH`          a known attribute's value has a length its definition does not allow
 * - `ATTR_VALUE`           a known attribute's value has the right length but an invalid content
 *                          (unknown address family, error class outside 3..6, …)
 * - `FINGERPRINT_NOT_LAST` an attribute follows FINGERPRINT (RFC 8489 §14.7)
 * - `FINGERPRINT_MISMATCH` the FINGERPRINT value is not the CRC-32 of the message (RFC 8489 §14.7)
 */
export type StunParseErrorCode =
  | 'TRUNCATED'
  | 'NOT_STUN'
  | 'LENGTH_NOT_ALIGNED'
  | 'LENGTH_MISMATCH'
  | 'ATTR_TRUNCATED'
  | 'ATTR_LENGTH'
  | 'ATTR_VALUE'
  | 'FINGERPRINT_NOT_LAST'
  | 'FINGERPRINT_MISMATCH';

/** Malformed input: data, thrown only by the decoder, never by anything it calls. */
export class StunParseError extends Error {
  override readonly name = 'StunParseError';

  constructor(
    readonly code: StunParseErrorCode,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`${code} at ${offset}: ${reason}`);
  }
}

/**
 * Codes for values the encoder refuses:
 *
 * - `VALUE_TYPE`       a value of the wrong JavaScript type for the attribute
 * - `VALUE_RANGE`      a number outside the field (port, code, channel, uint32, uint64, …)
 * - `VALUE_LENGTH`     bytes or text too long or of a length the attribute does not allow
 * - `ADDRESS`          an address that is not an IPv4 or IPv6 literal
 * - `UNKNOWN_NAME`     an attribute name not in the table
 * - `HEADER`           a bad method, class or transaction ID
 * - `MESSAGE_TOO_LONG` the message would not fit the 16-bit length field
 * - `XOR_WITHOUT_COOKIE` an XOR-address attribute in a message without the magic cookie (RFC 3489 form)
 */
export type StunEncodeErrorCode =
  | 'VALUE_TYPE'
  | 'VALUE_RANGE'
  | 'VALUE_LENGTH'
  | 'ADDRESS'
  | 'UNKNOWN_NAME'
  | 'HEADER'
  | 'MESSAGE_TOO_LONG'
  | 'XOR_WITHOUT_COOKIE';

/** A programming error: the caller gave the encoder a value the wire format cannot carry. */
export class StunEncodeError extends TypeError {
  override readonly name = 'StunEncodeError';

  constructor(
    readonly code: StunEncodeErrorCode,
    readonly reason: string,
  ) {
    super(`${code}: ${reason}`);
  }
}
