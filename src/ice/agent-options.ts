// The ICE agent engine's options, events, counters and the W3C state names it reports.
import type { IceCandidate } from './candidate.js';
import type { CandidatePair } from './candidate-pair.js';
import type { IceRole } from './checks.js';
import type { ConsentOptions } from './consent.js';
import type { DestinationUnreachableError } from '../net/datagram-socket.js';
import type { SocketId } from '../net/engine.js';

/** W3C RTCIceTransportState. */
export type IceTransportState = 'new' | 'checking' | 'connected' | 'completed' | 'disconnected' | 'failed' | 'closed';

/** Like RTCIceParameters. */
export interface IceParameters {
  usernameFragment: string;
  password: string;
  /** The agent is an ICE-lite agent (a=ice-lite). */
  iceLite?: boolean;
  /**
   * Its a=ice-options tags (RFC 8839 §5.6) that change what the engine does: `renomination`
   * (draft-thatcher-ice-renomination), which lets the controlling agent nominate again. Default none.
   */
  iceOptions?: readonly string[];
}

export interface IceAgentEngineOptions extends ConsentOptions {
  /** Initial role; default 'controlling'. A lite agent is always controlled. */
  role?: IceRole;
  /** Be an ICE-lite agent (RFC 8445 §2.5): host candidates only, answers checks, sends none. */
  lite?: boolean;
  /** Local credentials; generated with RFC 8445 §5.3 lengths when omitted. */
  usernameFragment?: string;
  password?: string;
  /** 64-bit tie-breaker (§7.1.3); random when omitted. */
  tieBreaker?: bigint;
  /** Pacing of checks, Ta (§14.2); default 50 ms. */
  taMs?: number;
  /** Most candidate pairs kept (§6.1.2.5); default 100. */
  maxPairs?: number;
  /** Most remote candidates accepted, peer-reflexive ones included; default 100. */
  maxRemoteCandidates?: number;
  /**
   * Most peer-reflexive remote candidates kept; past it the oldest with no valid pair is forgotten, so a
   * storm of new mappings from a symmetric NAT cannot crowd out the signalled (and relayed) pairs.
   * Default 16.
   */
  maxPeerReflexiveCandidates?: number;
  /**
   * How long the controlling agent waits for better pairs after the first valid one while the best valid
   * pair is relayed; default 2 000 ms. (So a relay is not chosen while a direct pair is being checked.)
   */
  nominationDelayMs?: number;
  /** The same wait while the best valid pair is direct; default 300 ms. */
  directNominationDelayMs?: number;
  /** Random numbers in [0, 1) for timer jitter; default Math.random (tests pass a seeded one). */
  random?: () => number;
  /**
   * Renomination (draft-thatcher-ice-renomination, as libwebrtc does it): `renomination` in our
   * `localParameters.iceOptions`, and when the peer's have it too, the controlling agent nominates again —
   * a better pair that becomes valid later, or the best remaining one when the selected pair fails — with
   * a NOMINATION counter the controlled agent follows (the highest wins). Without it on both sides
   * nomination is final (RFC 8445 §8.1.1), but a selected pair that fails is still replaced, on each side,
   * by its best remaining valid pair. Default true.
   */
  renomination?: boolean;
  /**
   * The peer moved: when it sends data or checks on another valid pair while the selected pair has heard
   * nothing for this long, that pair's consent is not waited out (RFC 7675's 30 s) — it is failed and the
   * best remaining valid pair takes over. Default 1 000 ms.
   */
  failoverSilenceMs?: number;
}

export type IceAgentEvent =
  | { type: 'statechange'; state: IceTransportState }
  | { type: 'selectedcandidatepairchange'; pair: CandidatePair }
  | { type: 'rolechange'; role: IceRole }
  /** A peer-reflexive remote candidate learned from a check (§7.3.1.3). */
  | { type: 'remotecandidate'; candidate: IceCandidate }
  | { type: 'data'; data: Uint8Array; pair: CandidatePair }
  /** Datagrams from `socket` to a remote address are refused (a TURN 403, the bridge's policy): `pairs` failed. */
  | { type: 'unreachable'; error: DestinationUnreachableError; socket: SocketId; pairs: CandidatePair[] };

export interface IceAgentCounters {
  /** STUN that failed to parse, or STUN methods other than Binding. */
  malformed: number;
  /** Checks answered with 400/401. */
  rejectedChecks: number;
  /** Application data from an address no valid or authenticated pair knows. */
  unexpectedData: number;
  /** Application data the app asked to send with no usable pair. */
  unsendable: number;
  /** Refusals of a remote address (the bridge's policy or rate limit, a TURN 403): ICMP-like hard errors. */
  unreachable: number;
}
