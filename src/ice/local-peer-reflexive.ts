// RFC 8445 §7.2.5.3.1: a check's mapped address that is none of our candidates is a local peer-reflexive
// candidate. It shares the checked pair's base, so the checked pair itself serves as the valid pair
// (deliberately simpler than §7.2.5.3.2, with the same sockets and addresses on the wire).
import type { TransportAddress } from '../net/transport-address.js';
import { peerReflexivePriority } from './candidate.js';
import type { CandidatePair, LocalCandidate } from './candidate-pair.js';

export function localPeerReflexive(
  pair: CandidatePair,
  mapped: TransportAddress | undefined,
  known: readonly LocalCandidate[],
): LocalCandidate | undefined {
  if (!mapped) return undefined;
  if (known.some((l) => l.candidate.address === mapped.address && l.candidate.port === mapped.port)) return undefined;
  const base = pair.local.candidate;
  return {
    socket: pair.local.socket,
    base: pair.local.base,
    candidate: {
      foundation: `p${base.foundation}`.slice(0, 32),
      component: base.component,
      protocol: base.protocol,
      priority: peerReflexivePriority(base),
      address: mapped.address,
      port: mapped.port,
      type: 'prflx',
      relatedAddress: pair.local.base.address,
      relatedPort: pair.local.base.port,
      extensions: [],
    },
  };
}
