// The TURN client's messages (RFC 8656 §7.1, §8.1, §10.1, §11.1, §12.1), without authentication: the
// method-specific attributes of each request, and the Send indication. credentials.ts adds the rest.
import type { AddressFamily, TransportAddress } from '../net/transport-address.js';
import type { StunAttributeEntry } from '../stun/attribute-values.js';
import { StunMethod, TRANSPORT_UDP } from '../stun/constants.js';
import { encodeStunMessage } from '../stun/encode.js';
import { createStunMessage } from '../stun/message.js';
import type { ChannelBinding } from './channels.js';
import type { TurnError } from './errors.js';

/**
 * ADDITIONAL-ADDRESS-FAMILY under the code point of draft-ietf-tram-turnbis (0x8032), which coturn 4.6 still
 * uses in place of RFC 8656's 0x8000: comprehension-optional, so any other server ignores it.
 */
export const DRAFT_ADDITIONAL_ADDRESS_FAMILY = 0x8032;

/** What a request in flight is for; kept with its transaction so its outcome can be applied. */
export type TurnRequest =
  | AllocateRequest
  | { readonly op: 'refresh' }
  | { readonly op: 'deallocate' }
  /** One CreatePermission per IP; `peer` is the transport address whose IP is asked for (port ignored, §10.1). */
  | { readonly op: 'permission'; readonly ip: string; readonly peer: TransportAddress }
  | { readonly op: 'channel'; readonly binding: ChannelBinding };

/**
 * One Allocate attempt (RFC 8656 §7.1): `family` sends REQUESTED-ADDRESS-FAMILY, `dual` sends
 * ADDITIONAL-ADDRESS-FAMILY IPv6 instead (never both); `fallbackFrom` is the attempt a 440 answered, when
 * this one asks for the other family (allocation.ts).
 */
export interface AllocateRequest {
  readonly op: 'allocate';
  readonly family?: AddressFamily;
  readonly dual?: boolean;
  readonly fallbackFrom?: { readonly asked: string; readonly error: TurnError };
}

const METHOD: Record<TurnRequest['op'], number> = {
  allocate: StunMethod.Allocate,
  refresh: StunMethod.Refresh,
  deallocate: StunMethod.Refresh,
  permission: StunMethod.CreatePermission,
  channel: StunMethod.ChannelBind,
};

export function methodOf(request: TurnRequest): number {
  return METHOD[request.op];
}

export interface RequestParameters {
  lifetimeSeconds: number;
  /** Also send ADDITIONAL-ADDRESS-FAMILY as DRAFT_ADDITIONAL_ADDRESS_FAMILY in dual requests. */
  draftDualStackAttribute: boolean;
  /** '' for none. */
  software: string;
}

/** The attributes a request carries before USERNAME/REALM/NONCE and integrity. */
export function requestAttributes(request: TurnRequest, p: RequestParameters): StunAttributeEntry[] {
  const entries: StunAttributeEntry[] = [];
  switch (request.op) {
    case 'allocate':
      // §7.1: REQUESTED-TRANSPORT is always UDP; LIFETIME is a hint; one REQUESTED-ADDRESS-FAMILY at most,
      // never with ADDITIONAL-ADDRESS-FAMILY, whose value MUST be IPv6.
      entries.push(['REQUESTED-TRANSPORT', TRANSPORT_UDP], ['LIFETIME', p.lifetimeSeconds]);
      if (request.dual) entries.push(['ADDITIONAL-ADDRESS-FAMILY', 'IPv6']);
      // Deliberately not per spec: coturn 4.6 knows ADDITIONAL-ADDRESS-FAMILY only by its turnbis-draft code point.
      if (request.dual && p.draftDualStackAttribute) entries.push([DRAFT_ADDITIONAL_ADDRESS_FAMILY, new Uint8Array([2, 0, 0, 0])]);
      else if (request.family !== undefined) entries.push(['REQUESTED-ADDRESS-FAMILY', request.family]);
      break;
    case 'refresh':
      entries.push(['LIFETIME', p.lifetimeSeconds]);
      break;
    case 'deallocate':
      // §8.1: LIFETIME 0 deletes the allocation.
      entries.push(['LIFETIME', 0]);
      break;
    case 'permission':
      entries.push(['XOR-PEER-ADDRESS', request.peer]);
      break;
    case 'channel':
      entries.push(['CHANNEL-NUMBER', request.binding.number], ['XOR-PEER-ADDRESS', request.binding.peer]);
      break;
  }
  // §5: the client SHOULD include SOFTWARE in Allocate and Refresh requests.
  if (p.software !== '' && (request.op === 'allocate' || request.op === 'refresh' || request.op === 'deallocate')) {
    entries.push(['SOFTWARE', p.software]);
  }
  return entries;
}

/** §11.1: a Send indication — XOR-PEER-ADDRESS and DATA, never authenticated (§5). Throws StunEncodeError if too large. */
export function encodeSendIndication(peer: TransportAddress, data: Uint8Array): Uint8Array {
  return encodeStunMessage(
    createStunMessage({
      method: StunMethod.Send,
      class: 'indication',
      attributes: [
        ['XOR-PEER-ADDRESS', peer],
        ['DATA', data],
      ],
    }),
  );
}
