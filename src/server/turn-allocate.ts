// The stateless checks of an authenticated Allocate request, RFC 8656 §7.2 steps 3–9, in the RFC's order.
// Step 2 (the 5-tuple already in use) and step 10 (quotas) need the server's state and are done there.
import type { AddressFamily } from '../net/transport-address.js';
import type { StunAddressErrorCode } from '../stun/attribute-values.js';
import { TRANSPORT_UDP } from '../stun/constants.js';
import type { StunMessage } from '../stun/message.js';
import { grantedLifetimeS, type ResolvedTurnLimits } from './turn-server-options.js';

/** What to allocate once the request passed every check. */
export interface AllocatePlan {
  readonly family: AddressFamily;
  /** EVEN-PORT with R = 0: the relayed port must be even. */
  readonly evenPort: boolean;
  readonly lifetimeS: number;
  /** ADDRESS-ERROR-CODE for the success response: the half of a dual allocation not granted. */
  readonly addressError: StunAddressErrorCode | undefined;
}

export type AllocateCheck =
  | { readonly ok: true; readonly plan: AllocatePlan }
  | { readonly ok: false; readonly code: number; readonly reason: string };

function reject(code: number, reason: string): AllocateCheck {
  return { ok: false, code, reason };
}

export function checkAllocateRequest(request: StunMessage, limits: ResolvedTurnLimits): AllocateCheck {
  // Step 3: UDP is the only transport TURN relays to (RFC 8656 §3.2); TCP allocations are RFC 6062.
  const transport = request.get('REQUESTED-TRANSPORT');
  if (transport === undefined) return reject(400, 'Bad Request: REQUESTED-TRANSPORT is missing');
  if (transport !== TRANSPORT_UDP) return reject(442, 'Unsupported Transport Protocol');
  // Step 4 (DONT-FRAGMENT) is answered with 420 before authentication: the server cannot set DF.

  const requested = request.get('REQUESTED-ADDRESS-FAMILY');
  const additional = request.get('ADDITIONAL-ADDRESS-FAMILY');
  const evenPort = request.get('EVEN-PORT');
  // Step 5. Deliberately simplified: this server never hands out RESERVATION-TOKENs, so none is valid.
  if (request.has('RESERVATION-TOKEN')) {
    if (evenPort !== undefined || requested !== undefined || additional !== undefined) {
      return reject(400, 'Bad Request: RESERVATION-TOKEN with EVEN-PORT or an address family');
    }
    return reject(508, 'Insufficient Capacity: unknown reservation token');
  }
  // Step 6.
  if (requested !== undefined && additional !== undefined) {
    return reject(400, 'Bad Request: both REQUESTED-ADDRESS-FAMILY and ADDITIONAL-ADDRESS-FAMILY');
  }
  // Step 7: without REQUESTED-ADDRESS-FAMILY, IPv4.
  const family = requested ?? 'IPv4';
  if (!limits.relayFamilies.includes(family)) return reject(440, `Address Family not Supported: ${family}`);
  // Step 8. Deliberately simplified: no port pairs are reserved, so R = 1 cannot be satisfied.
  if (evenPort?.reservePort === true) {
    if (additional !== undefined) return reject(400, 'Bad Request: EVEN-PORT R=1 with ADDITIONAL-ADDRESS-FAMILY');
    return reject(508, 'Insufficient Capacity: port reservation (EVEN-PORT R=1) is not supported');
  }
  // Step 9: dual allocations are not implemented; the IPv4 half is granted and the IPv6 one refused
  // with ADDRESS-ERROR-CODE, as the step allows for a server that "can partially meet the request".
  let addressError: StunAddressErrorCode | undefined;
  if (additional !== undefined) {
    if (additional === 'IPv4') return reject(400, 'Bad Request: ADDITIONAL-ADDRESS-FAMILY must be IPv6');
    addressError = { family: 'IPv6', code: 440, reason: 'Address Family not Supported: dual allocation' };
  }
  return {
    ok: true,
    plan: { family, evenPort: evenPort !== undefined, lifetimeS: grantedLifetimeS(request.get('LIFETIME'), limits), addressError },
  };
}
