// Connectivity-check messages (RFC 8445 §7): the Binding request a check sends, and what a check
// request must carry to be answered (§7.3, RFC 8489 §9.1 short-term credentials).
import type { HmacSha1 } from '../crypto/index.js';
import type { TransportAddress } from '../net/transport-address.js';
import type { StunAttributeEntry } from '../stun/attribute-values.js';
import { StunMethod } from '../stun/constants.js';
import { encodeStunMessage } from '../stun/encode.js';
import { verifyMessageIntegrity } from '../stun/integrity.js';
import { createStunMessage, randomTransactionId, type StunMessage } from '../stun/message.js';

export type IceRole = 'controlling' | 'controlled';

export interface CheckRequest {
  localUfrag: string;
  remoteUfrag: string;
  /** Keyed with the remote password (RFC 8445 §7.2.2). */
  remoteKey: HmacSha1;
  /** PRIORITY: what a peer-reflexive candidate learned from this check would get (§7.1.1). */
  priority: number;
  role: IceRole;
  tieBreaker: bigint;
  useCandidate: boolean;
  /** With `useCandidate`, the renomination counter (draft-thatcher-ice-renomination §3), when the peer supports it. */
  nomination?: number;
}

/** Builds and encodes a check; returns the transaction id and the bytes. */
export function encodeCheckRequest(r: CheckRequest): { transactionId: Uint8Array; bytes: Uint8Array } {
  const transactionId = randomTransactionId();
  const attributes: StunAttributeEntry[] = [
    // §7.2.2: USERNAME is "remote ufrag:local ufrag".
    ['USERNAME', `${r.remoteUfrag}:${r.localUfrag}`],
    ['PRIORITY', r.priority],
    r.role === 'controlling' ? ['ICE-CONTROLLING', r.tieBreaker] : ['ICE-CONTROLLED', r.tieBreaker],
  ];
  if (r.useCandidate) attributes.push(['USE-CANDIDATE', true]);
  if (r.useCandidate && r.nomination !== undefined) attributes.push(['NOMINATION', r.nomination]);
  const message = createStunMessage({ method: StunMethod.Binding, class: 'request', transactionId, attributes });
  return { transactionId, bytes: encodeStunMessage(message, { integrity: { key: r.remoteKey }, fingerprint: true }) };
}

export type InboundCheck =
  | { ok: true; remoteUfrag: string; priority: number; useCandidate: boolean; nomination?: number; controlling?: bigint; controlled?: bigint }
  | { ok: false; code: 400 | 401; reason: string };

/**
 * Validates a check request addressed to us (§7.3, RFC 8489 §9.1.3): USERNAME "local ufrag:remote ufrag",
 * MESSAGE-INTEGRITY with our password, PRIORITY present. Missing attributes → 400, wrong credentials → 401.
 */
export function validateCheckRequest(message: StunMessage, localUfrag: string, localKey: HmacSha1): InboundCheck {
  const username = message.get('USERNAME');
  if (username === undefined || message.integrityOffset < 0) return { ok: false, code: 400, reason: 'Bad Request: USERNAME and MESSAGE-INTEGRITY are required' };
  const colon = username.indexOf(':');
  if (colon < 0 || username.slice(0, colon) !== localUfrag) return { ok: false, code: 401, reason: 'Unauthenticated: unknown username' };
  if (!verifyMessageIntegrity(message, localKey)) return { ok: false, code: 401, reason: 'Unauthenticated: bad MESSAGE-INTEGRITY' };
  const priority = message.get('PRIORITY');
  if (priority === undefined) return { ok: false, code: 400, reason: 'Bad Request: PRIORITY is required' };
  return {
    ok: true,
    remoteUfrag: username.slice(colon + 1),
    priority,
    useCandidate: message.has('USE-CANDIDATE'),
    nomination: message.get('NOMINATION'),
    controlling: message.get('ICE-CONTROLLING'),
    controlled: message.get('ICE-CONTROLLED'),
  };
}

/** A success response to a check: XOR-MAPPED-ADDRESS, integrity with our password, FINGERPRINT (§7.3). */
export function encodeCheckResponse(request: StunMessage, mapped: TransportAddress, localKey: HmacSha1): Uint8Array {
  const response = createStunMessage({
    method: StunMethod.Binding,
    class: 'success',
    transactionId: request.transactionId,
    attributes: [['XOR-MAPPED-ADDRESS', mapped]],
  });
  return encodeStunMessage(response, { integrity: { key: localKey }, fingerprint: true });
}

/** An error response (400, 401, 487), integrity-protected when we could authenticate the request. */
export function encodeCheckError(request: StunMessage, code: number, reason: string, localKey?: HmacSha1): Uint8Array {
  const response = createStunMessage({
    method: StunMethod.Binding,
    class: 'error',
    transactionId: request.transactionId,
    attributes: [['ERROR-CODE', { code, reason }]],
  });
  return encodeStunMessage(response, { integrity: localKey ? { key: localKey } : undefined, fingerprint: true });
}
