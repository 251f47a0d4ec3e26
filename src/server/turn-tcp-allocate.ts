// The checks of an authenticated Allocate for a TCP relay (RFC 6062 §5.1), in place of RFC 8656 §7.2 step 3's
// 442 when the server offers TCP allocations. The rest of §7.2 that applies (family, lifetime) is reused.
import type { StunMessage } from '../stun/message.js';
import type { AllocateCheck } from './turn-allocate.js';
import { grantedLifetimeS, type ResolvedTurnLimits } from './turn-server-options.js';

/** What an Allocate check needs to know for TCP relays: the transport of the connection it arrived on. */
export interface TcpAllocateContext {
  /** 'tcp' or 'tls' for a stream client connection, undefined for UDP. */
  readonly stream: 'tcp' | 'tls' | undefined;
}

export function checkTcpAllocateRequest(request: StunMessage, limits: ResolvedTurnLimits, context: TcpAllocateContext): AllocateCheck {
  // §5.1 item 2: a TCP allocation needs a TCP or TLS control connection (§4.1: "cannot be obtained using a UDP association").
  if (context.stream === undefined) return { ok: false, code: 400, reason: 'Bad Request: a TCP allocation needs a TCP or TLS connection' };
  // §5.1 item 3: the UDP-only features. (DONT-FRAGMENT is answered 420 before authentication, turn-server.ts.)
  if (request.has('EVEN-PORT') || request.has('RESERVATION-TOKEN') || request.has('DONT-FRAGMENT')) {
    return { ok: false, code: 400, reason: 'Bad Request: EVEN-PORT, RESERVATION-TOKEN and DONT-FRAGMENT are UDP-only' };
  }
  const requested = request.get('REQUESTED-ADDRESS-FAMILY');
  // Deliberately not offered: RFC 6062 predates dual allocations (RFC 8656 §7.2 step 9), and one control
  // connection per relayed address is the model (§3).
  if (request.has('ADDITIONAL-ADDRESS-FAMILY')) return { ok: false, code: 400, reason: 'Bad Request: ADDITIONAL-ADDRESS-FAMILY with a TCP allocation' };
  const family = requested ?? 'IPv4';
  if (!limits.relayFamilies.includes(family)) return { ok: false, code: 440, reason: `Address Family not Supported: ${family}` };
  return {
    ok: true,
    plan: {
      families: [family],
      evenPort: false,
      reserveNext: false,
      token: undefined,
      lifetimeS: grantedLifetimeS(request.get('LIFETIME'), limits),
      addressError: undefined,
      tcp: true,
    },
  };
}
