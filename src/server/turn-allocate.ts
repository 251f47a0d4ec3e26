// The stateless checks of an authenticated Allocate request, RFC 8656 §7.2 steps 3–9, in the RFC's order.
// Step 2 (the 5-tuple already in use), the validity of a RESERVATION-TOKEN (step 5) and step 10 (quotas)
// need the server's state and are done there; so is building the success (allocateSuccessAttributes).
import type { Millis } from '../net/clock.js';
import type { AddressFamily, TransportAddress } from '../net/transport-address.js';
import type { StunAddressErrorCode, StunAttributeEntry } from '../stun/attribute-values.js';
import { TRANSPORT_TCP, TRANSPORT_UDP } from '../stun/constants.js';
import type { StunMessage } from '../stun/message.js';
import type { TurnAllocation } from './turn-allocation.js';
import { grantedLifetimeS, type ResolvedTurnLimits } from './turn-server-options.js';
import { checkTcpAllocateRequest, type TcpAllocateContext } from './turn-tcp-allocate.js';

/** What to allocate once the request passed every check. */
export interface AllocatePlan {
  /** The relay families, the requested one first; two for a dual allocation (RFC 8656 §7.2 step 9). */
  readonly families: readonly AddressFamily[];
  /** EVEN-PORT: the relayed port must be even. */
  readonly evenPort: boolean;
  /** EVEN-PORT with R = 1: port N+1 is reserved too, for a RESERVATION-TOKEN (step 8, §7.2 end). */
  readonly reserveNext: boolean;
  /** RESERVATION-TOKEN: the relay is the reserved one; the server checks the token (step 5: 508 if invalid). */
  readonly token: Uint8Array | undefined;
  readonly lifetimeS: number;
  /** ADDRESS-ERROR-CODE for the success response: the half of a dual allocation not granted. */
  readonly addressError: StunAddressErrorCode | undefined;
  /** RFC 6062: a TCP allocation (its relay is a listening TCP socket, turn-tcp-relay.ts). */
  readonly tcp?: boolean;
}

export type AllocateCheck =
  | { readonly ok: true; readonly plan: AllocatePlan }
  | { readonly ok: false; readonly code: number; readonly reason: string };

function reject(code: number, reason: string): AllocateCheck {
  return { ok: false, code, reason };
}

/** `tcp`: how TCP allocations are judged (RFC 6062 §5.1); undefined when the server offers none (442). */
export function checkAllocateRequest(request: StunMessage, limits: ResolvedTurnLimits, tcp?: TcpAllocateContext): AllocateCheck {
  // Step 3: UDP is the only transport TURN relays to (RFC 8656 §3.2); TCP allocations are RFC 6062.
  const transport = request.get('REQUESTED-TRANSPORT');
  if (transport === undefined) return reject(400, 'Bad Request: REQUESTED-TRANSPORT is missing');
  if (transport === TRANSPORT_TCP && tcp !== undefined) return checkTcpAllocateRequest(request, limits, tcp);
  if (transport !== TRANSPORT_UDP) return reject(442, 'Unsupported Transport Protocol');
  // Step 4 (DONT-FRAGMENT) is answered with 420 before authentication: the server cannot set DF.

  const requested = request.get('REQUESTED-ADDRESS-FAMILY');
  const additional = request.get('ADDITIONAL-ADDRESS-FAMILY');
  const evenPort = request.get('EVEN-PORT');
  const lifetimeS = grantedLifetimeS(request.get('LIFETIME'), limits);
  // Step 5. The token's validity needs the server's reservations: checked there (508).
  const token = request.get('RESERVATION-TOKEN');
  if (token !== undefined) {
    if (evenPort !== undefined || requested !== undefined || additional !== undefined) {
      return reject(400, 'Bad Request: RESERVATION-TOKEN with EVEN-PORT or an address family');
    }
    // The reserved address decides the family, so step 7 does not apply.
    return { ok: true, plan: { families: [], evenPort: false, reserveNext: false, token: token.slice(), lifetimeS, addressError: undefined } };
  }
  // Step 6.
  if (requested !== undefined && additional !== undefined) {
    return reject(400, 'Bad Request: both REQUESTED-ADDRESS-FAMILY and ADDITIONAL-ADDRESS-FAMILY');
  }
  // Step 7: without REQUESTED-ADDRESS-FAMILY, IPv4.
  const family = requested ?? 'IPv4';
  if (!limits.relayFamilies.includes(family)) return reject(440, `Address Family not Supported: ${family}`);
  // Step 8. Whether a pair of ports is free only the driver knows: it fails the request (508) if not.
  const reserveNext = evenPort?.reservePort === true;
  if (reserveNext && additional !== undefined) return reject(400, 'Bad Request: EVEN-PORT R=1 with ADDITIONAL-ADDRESS-FAMILY');
  // Step 9: a dual allocation when the server relays IPv6 too; otherwise the IPv4 half is granted and the
  // IPv6 one refused with ADDRESS-ERROR-CODE, as the step allows for a server that "can partially meet
  // the request".
  const families: AddressFamily[] = [family];
  let addressError: StunAddressErrorCode | undefined;
  if (additional !== undefined) {
    if (additional === 'IPv4') return reject(400, 'Bad Request: ADDITIONAL-ADDRESS-FAMILY must be IPv6');
    if (limits.relayFamilies.includes('IPv6')) families.push('IPv6');
    else addressError = { family: 'IPv6', code: 440, reason: 'Address Family not Supported: IPv6' };
  }
  return { ok: true, plan: { families, evenPort: evenPort !== undefined, reserveNext, token: undefined, lifetimeS, addressError } };
}

/**
 * The attributes of an Allocate success (RFC 8656 §7.2 end): every XOR-RELAYED-ADDRESS (two for a dual
 * allocation), LIFETIME, XOR-MAPPED-ADDRESS, RESERVATION-TOKEN (EVEN-PORT R=1) and ADDRESS-ERROR-CODE
 * (a dual allocation half refused).
 */
export function allocateSuccessAttributes(allocation: TurnAllocation, mapped: TransportAddress, now: Millis): StunAttributeEntry[] {
  const lifetimeS = Math.max(0, Math.floor((allocation.expiresAt - now) / 1000));
  return [
    ...allocation.relays.map((h) => ['XOR-RELAYED-ADDRESS', h.relayed] as const),
    ['LIFETIME', lifetimeS],
    ['XOR-MAPPED-ADDRESS', mapped],
    ...(allocation.reservationToken !== undefined ? [['RESERVATION-TOKEN', allocation.reservationToken] as const] : []),
    ...(allocation.addressError !== undefined ? [['ADDRESS-ERROR-CODE', allocation.addressError] as const] : []),
  ];
}
