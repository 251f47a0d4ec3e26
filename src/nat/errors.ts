// Why NAT behaviour discovery could not give an answer, with a stable code (DESIGN.md rule 3).

/**
 * - `NO_RESPONSE`     the server never answered the first Binding request (RFC 5780 §4.2: no UDP
 *                     connectivity to it, or it is down)
 * - `NO_RFC5780`      the server does not support NAT behaviour discovery: no OTHER-ADDRESS (§4.3), a 420 to
 *                     CHANGE-REQUEST (§6), or it ignored CHANGE-REQUEST (the response came from the same address)
 * - `ERROR_RESPONSE`  the server answered a test with another error (401: it wants credentials, §5.2)
 * - `TEST_TIMEOUT`    a test that must be answered whatever the NAT does (a mapping test) was not
 * - `SOCKET_CLOSED`   the socket closed during discovery
 * - `UNRESOLVED`      the server is a host name and no resolver was given
 * - `UNREACHABLE`     the way to one of the server's addresses is refused (the bridge's destination policy or
 *                     rate limit, like an ICMP unreachable); `cause` is the DestinationUnreachableError
 */
export type NatDiscoveryErrorCode = 'NO_RESPONSE' | 'NO_RFC5780' | 'ERROR_RESPONSE' | 'TEST_TIMEOUT' | 'SOCKET_CLOSED' | 'UNRESOLVED' | 'UNREACHABLE';

export class NatDiscoveryError extends Error {
  override readonly name = 'NatDiscoveryError';
  constructor(
    readonly code: NatDiscoveryErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
