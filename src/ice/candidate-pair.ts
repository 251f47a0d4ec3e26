// A candidate pair (RFC 8445 §6.1.2) with its state and the counters the W3C RTCIceCandidatePairStats names.
import type { SocketId } from '../net/engine.js';
import type { TransportAddress } from '../net/transport-address.js';
import type { IceCandidate } from './candidate.js';
import { pairPriority } from './pair-priority.js';

/** RFC 8445 §6.1.2.6, spelled as RTCStatsIceCandidatePairState. */
export type CandidatePairState = 'frozen' | 'waiting' | 'in-progress' | 'succeeded' | 'failed';

/** One of our candidates, with the base it sends from (RFC 8445 §5.1.1). */
export interface LocalCandidate {
  readonly candidate: IceCandidate;
  /** The socket of the base: a host socket, or the relay socket for a relayed candidate. */
  readonly socket: SocketId;
  /** The base's transport address (for a host or relayed candidate, the candidate's own). */
  readonly base: TransportAddress;
}

export interface CandidatePairStats {
  requestsSent: number;
  requestsReceived: number;
  responsesSent: number;
  responsesReceived: number;
  packetsSent: number;
  packetsReceived: number;
  bytesSent: number;
  bytesReceived: number;
  /** Seconds, like RTCIceCandidatePairStats.currentRoundTripTime. */
  currentRoundTripTime: number | undefined;
  totalRoundTripTime: number;
  consentRequestsSent: number;
  lastPacketSentTimestamp: number | undefined;
  lastPacketReceivedTimestamp: number | undefined;
  lastRequestTimestamp: number | undefined;
  lastResponseTimestamp: number | undefined;
}

let nextPairId = 1;

export class CandidatePair {
  readonly id: string;
  /** Creation order, to break priority ties stably. */
  readonly seq: number;
  state: CandidatePairState = 'frozen';
  priority: bigint;
  /** In the valid list (RFC 8445 §7.2.5.3.2). */
  valid = false;
  /** RFC 8445 §8.1.1: nominated by the controlling agent (ours, or theirs by USE-CANDIDATE). */
  nominated = false;
  /** The controlled agent saw USE-CANDIDATE for this pair before it succeeded (§7.3.1.5). */
  useCandidateReceived = false;
  /** The next check for this pair carries USE-CANDIDATE (controlling agent, regular nomination). */
  nominating = false;
  /** The renomination counter it was nominated with (draft-thatcher-ice-renomination); 0 for regular nomination. */
  nomination = 0;
  /** Transaction id of the check in flight, if any. */
  inFlight: Uint8Array | undefined;
  /** Why the pair failed, once it has: a refusal (a TURN 403, the bridge's policy), an error response, a timeout. */
  failureReason: string | undefined;
  readonly stats: CandidatePairStats = {
    requestsSent: 0,
    requestsReceived: 0,
    responsesSent: 0,
    responsesReceived: 0,
    packetsSent: 0,
    packetsReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    currentRoundTripTime: undefined,
    totalRoundTripTime: 0,
    consentRequestsSent: 0,
    lastPacketSentTimestamp: undefined,
    lastPacketReceivedTimestamp: undefined,
    lastRequestTimestamp: undefined,
    lastResponseTimestamp: undefined,
  };

  constructor(
    readonly local: LocalCandidate,
    readonly remote: IceCandidate,
    controlling: boolean,
  ) {
    this.seq = nextPairId++;
    this.id = `pair-${this.seq}`;
    this.priority = 0n;
    this.updatePriority(controlling);
  }

  /** RFC 8445 §6.1.2.3: G is the controlling agent's candidate priority, D the controlled's. */
  updatePriority(controlling: boolean): void {
    const ours = this.local.candidate.priority;
    const theirs = this.remote.priority;
    this.priority = controlling ? pairPriority(ours, theirs) : pairPriority(theirs, ours);
  }

  /** RFC 8445 §6.1.2.6: the foundation of a pair joins its candidates' foundations. */
  get foundation(): string {
    return `${this.local.candidate.foundation}:${this.remote.foundation}`;
  }

  get remoteAddress(): TransportAddress {
    return { address: this.remote.address, port: this.remote.port };
  }
}

/** Higher priority first; equal priorities by creation order, so the order is stable. */
export function comparePairs(a: CandidatePair, b: CandidatePair): number {
  if (a.priority !== b.priority) return a.priority > b.priority ? -1 : 1;
  return a.seq - b.seq;
}
