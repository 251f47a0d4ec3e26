// Typed parse errors of the DNS message codec: a stable code, the byte offset and why (DESIGN.md rule 3).

/**
 * Stable codes: `TRUNCATED` (the message ends inside a field), `MESSAGE_SIZE` (over the codec's limit),
 * `LABEL_LENGTH` (a label over 63 bytes, RFC 1035 §2.3.4), `LABEL_TYPE` (the reserved 0x40/0x80 label
 * forms, RFC 1035 §4.1.4), `NAME_LENGTH` (a name over 255 bytes), `NAME_POINTER` (a compression pointer
 * that does not point strictly backwards: loops and forward references), `RDATA_LENGTH` (an A/AAAA record
 * whose data is not 4/16 bytes), `TOO_MANY_RECORDS` (more questions or records than the codec's limit),
 * `ENCODE` (a message that cannot be encoded: a bad name or address).
 */
export type DnsParseErrorCode =
  | 'TRUNCATED'
  | 'MESSAGE_SIZE'
  | 'LABEL_LENGTH'
  | 'LABEL_TYPE'
  | 'NAME_LENGTH'
  | 'NAME_POINTER'
  | 'RDATA_LENGTH'
  | 'TOO_MANY_RECORDS'
  | 'ENCODE';

export class DnsParseError extends Error {
  override readonly name = 'DnsParseError';
  constructor(
    readonly code: DnsParseErrorCode,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`${code} at byte ${offset}: ${reason}`);
  }
}
