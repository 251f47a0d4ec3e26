// What an Allocate asks for and how its answer is judged (RFC 8656 §7): the relayed address family or
// families of each attempt, the one retry with the other family after a 440, and which relayed addresses of
// a success response the client takes.
import { familyOf, type AddressFamily, type TransportAddress } from '../net/transport-address.js';
import type { StunAddressErrorCode } from '../stun/attribute-values.js';
import type { StunMessage } from '../stun/message.js';
import { TurnError, TurnErrorCode as Code } from './errors.js';
import type { AllocateRequest } from './requests.js';

/** The first attempt: the configured family (REQUESTED-ADDRESS-FAMILY), or a dual allocation. */
export function firstAllocateRequest(options: { family?: AddressFamily; dualStack: boolean }): AllocateRequest {
  return options.dualStack ? { op: 'allocate', dual: true } : { op: 'allocate', family: options.family };
}

/** 'IPv4+IPv6' for a dual allocation; a request without REQUESTED-ADDRESS-FAMILY asks for IPv4 (§7.2 step 7). */
export function askedFamilies(request: AllocateRequest): string {
  return request.dual ? 'IPv4+IPv6' : (request.family ?? 'IPv4');
}

/**
 * The attempt to make after `error`, if any: a 440 to a first attempt is answered by asking once, explicitly,
 * for the other family (IPv6 after IPv4 or a dual request, IPv4 after IPv6). RFC 8656 §7.4 forbids retrying
 * *the request* after a 440; this is a different request, for a family the server may support.
 */
export function familyFallback(request: AllocateRequest, error: TurnError): AllocateRequest | undefined {
  if (request.fallbackFrom || error.kind !== 'response' || error.code !== Code.AddressFamilyNotSupported) return undefined;
  const family: AddressFamily = !request.dual && request.family === 'IPv6' ? 'IPv4' : 'IPv6';
  return { op: 'allocate', family, fallbackFrom: { asked: askedFamilies(request), error } };
}

/** The error to report for the last attempt: after a fallback it says what both attempts got. */
export function allocationError(request: AllocateRequest, error: TurnError): TurnError {
  const first = request.fallbackFrom;
  if (!first) return error;
  const reason = `${first.asked} relay: ${first.error.code} ${first.error.reason}; then ${askedFamilies(request)} relay: ${error.code} ${error.reason}`;
  return new TurnError(error.code, reason, 'allocate', error.kind, error.alternateServer, { cause: error });
}

export interface GrantedAllocation {
  /** The relayed addresses taken: the requested family's first (IPv4 first for a dual allocation). */
  readonly relayed: readonly TransportAddress[];
  /** §7.3: why the server did not grant one half of a dual allocation (440 or 508), if it did not. */
  readonly addressError?: StunAddressErrorCode;
}

/**
 * §7.3: the relayed addresses of a success response that the client asked for. A relayed address of a
 * family it did not ask for makes the allocation unusable (a 'protocol' TurnError; it is then deleted).
 */
export function grantedAllocation(message: StunMessage, request: AllocateRequest): GrantedAllocation | TurnError {
  const all = message.getAll('XOR-RELAYED-ADDRESS');
  if (all.length === 0) return new TurnError(Code.ServerError, 'Allocate success without XOR-RELAYED-ADDRESS', 'allocate', 'protocol');
  const addressError = message.get('ADDRESS-ERROR-CODE');
  if (request.dual) {
    // §7.2 step 9: two XOR-RELAYED-ADDRESS, or one and ADDRESS-ERROR-CODE for the family not granted.
    const v4 = all.find((a) => familyOf(a.address) === 'IPv4');
    const v6 = all.find((a) => familyOf(a.address) === 'IPv6');
    const relayed = [v4, v6].filter((a): a is TransportAddress => a !== undefined);
    return addressError ? { relayed, addressError } : { relayed };
  }
  const wanted = request.family;
  const relayed = wanted === undefined ? all[0] : all.find((a) => familyOf(a.address) === wanted);
  if (!relayed) return new TurnError(Code.AddressFamilyNotSupported, `asked for an ${wanted} relay, got ${all[0].address}`, 'allocate', 'protocol');
  return { relayed: [relayed] };
}
