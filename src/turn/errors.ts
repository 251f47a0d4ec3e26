// Why a TURN operation failed, as data: the STUN error code the server answered with (RFC 8656 §19,
// RFC 8489 §14.8), or a local reason (timeout, integrity, limits) with a code from the same space.
import type { TransportAddress } from '../net/transport-address.js';

/** The TURN transaction (or local step) an error belongs to. */
/** What failed; 'connect' is an RFC 6062 Connect (a peer connection of a TCP allocation). */
export type TurnOperation = 'allocate' | 'refresh' | 'deallocate' | 'permission' | 'channel' | 'send' | 'connect';

/**
 * - `response`  the server answered with an error response; `code` is its ERROR-CODE
 * - `timeout`   no answer (RFC 8489 §6.2); `code` 408, as RFC 8656 §7.4 calls a timed-out Allocate
 * - `integrity` responses came back but failed MESSAGE-INTEGRITY(-SHA256) (RFC 8489 §9.2.5); `code` 401
 * - `auth`      the challenge cannot be answered (no REALM/NONCE, no common password algorithm, wrong
 *               credentials: RFC 8489 §9.2.5 forbids a retry with unchanged credentials); `code` 401
 * - `limit`     a local limit (channel numbers, permissions, queues, retries, redirects) was reached
 * - `protocol`  the server's answer is unusable (no XOR-RELAYED-ADDRESS, wrong family, redirect loop)
 * - `closed`    the allocation or its socket closed before the operation completed
 * - `unreachable` the way to the server is refused (the bridge's destination policy or rate limit, like an
 *               ICMP unreachable); `code` 701, `reason` the refusal's `code: reason`, `cause` the
 *               DestinationUnreachableError
 */
export type TurnErrorKind = 'response' | 'timeout' | 'integrity' | 'auth' | 'limit' | 'protocol' | 'closed' | 'unreachable';

/** RFC 8656 §19 and RFC 8489 §14.8 codes a TURN client acts on, by name. */
export const TurnErrorCode = {
  TryAlternate: 300,
  BadRequest: 400,
  Unauthenticated: 401,
  Forbidden: 403,
  RequestTimedOut: 408,
  UnknownAttribute: 420,
  AllocationMismatch: 437,
  StaleNonce: 438,
  AddressFamilyNotSupported: 440,
  WrongCredentials: 441,
  UnsupportedTransportProtocol: 442,
  PeerAddressFamilyMismatch: 443,
  AllocationQuotaReached: 486,
  ServerError: 500,
  InsufficientCapacity: 508,
  /**
   * Not a STUN code: the W3C RTCPeerConnectionIceErrorEvent's 701, "the server could not be reached" —
   * here, the bridge refused the way to it. Outside 300–699 so it is never taken for a server's answer.
   */
  ServerUnreachable: 701,
} as const;

export class TurnError extends Error {
  override readonly name = 'TurnError';

  constructor(
    readonly code: number,
    readonly reason: string,
    readonly operation: TurnOperation,
    readonly kind: TurnErrorKind = 'response',
    /** For a 300 that could not be followed (a stream transport, or too many redirects): where it pointed. */
    readonly alternateServer?: TransportAddress,
    /** `cause`: what underlies a local failure (for `unreachable`, the DestinationUnreachableError). */
    options?: { cause?: unknown },
  ) {
    super(`TURN ${operation} failed: ${code} ${reason}`, options);
  }
}
