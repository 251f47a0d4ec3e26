// IceAgent.getStats(): each candidate pair as RTCIceCandidatePairStats sees it, plus why a failed one failed.
import type { CandidatePair } from './candidate-pair.js';
import { candidateToJSON, type IceCandidate } from './candidate.js';

/** One pair as RTCIceCandidatePairStats sees it. */
export interface IceCandidatePairStats {
  id: string;
  state: CandidatePair['state'];
  nominated: boolean;
  selected: boolean;
  priority: string;
  local: Record<string, unknown>;
  remote: Record<string, unknown>;
  requestsSent: number;
  requestsReceived: number;
  responsesSent: number;
  responsesReceived: number;
  consentRequestsSent: number;
  packetsSent: number;
  packetsReceived: number;
  bytesSent: number;
  bytesReceived: number;
  currentRoundTripTime?: number;
  totalRoundTripTime: number;
  /**
   * icebridge's own: why a 'failed' pair failed — a refusal ("the TURN server 192.0.2.1:3478 does not relay to
   * 127.0.0.1: 403 Forbidden", the bridge's destination policy), the peer's error answer, or no answer in time.
   */
  failureReason?: string;
}

/**
 * The records for `pairs`, `selected` flagged. `shown` maps a candidate to what the peer is told (an mDNS name
 * instead of a host address, draft-ietf-mmusic-mdns-ice-candidates §3.3.1: stats show names, not addresses).
 */
export function candidatePairStats(
  pairs: readonly CandidatePair[],
  selected: CandidatePair | undefined,
  shown: (candidate: IceCandidate) => IceCandidate,
): IceCandidatePairStats[] {
  return pairs.map((p) => {
    const { lastPacketSentTimestamp: _s, lastPacketReceivedTimestamp: _r, lastRequestTimestamp: _q, lastResponseTimestamp: _a, currentRoundTripTime, ...counters } = p.stats;
    const record: IceCandidatePairStats = {
      id: p.id,
      state: p.state,
      nominated: p.nominated,
      selected: p === selected,
      priority: p.priority.toString(),
      local: candidateToJSON(shown(p.local.candidate)),
      remote: candidateToJSON(p.remote.mdnsName ? { ...p.remote, address: p.remote.mdnsName } : p.remote),
      ...counters,
    };
    if (currentRoundTripTime !== undefined) record.currentRoundTripTime = currentRoundTripTime;
    if (p.state === 'failed' && p.failureReason !== undefined) record.failureReason = p.failureReason;
    return record;
  });
}
