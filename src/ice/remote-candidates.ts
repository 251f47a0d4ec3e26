// The peer's candidates: signalled ones (trickled, RFC 8838), learned peer-reflexive ones (RFC 8445
// §7.3.1.3), end-of-candidates, and the limits that keep a misbehaving peer or a symmetric NAT from
// growing them without bound.
import type { TransportAddress } from '../net/transport-address.js';
import type { IceCandidate, IceProtocol } from './candidate.js';
import type { CandidatePair } from './candidate-pair.js';
import type { Checklist } from './checklist.js';

export type RemoteAddResult = 'added' | 'replaced-prflx' | 'duplicate' | 'refused';

export class RemoteCandidates {
  readonly list: IceCandidate[] = [];
  /** RFC 8838 §14: after end-of-candidates, newly received candidates are ignored. */
  endOfCandidates = false;
  /** Candidates refused: over a limit or after end-of-candidates. */
  refused = 0;
  private learned = 0;

  constructor(
    private readonly maxCandidates: number,
    private readonly maxPeerReflexive: number,
  ) {
    if (!(maxCandidates >= 1) || !(maxPeerReflexive >= 1)) throw new RangeError('maxRemoteCandidates and maxPeerReflexiveCandidates must be ≥ 1');
  }

  /** A signalled candidate. One already learned as peer-reflexive is replaced by its signalled form. */
  add(candidate: IceCandidate): RemoteAddResult {
    if (this.endOfCandidates || this.list.length >= this.maxCandidates) {
      this.refused++;
      return 'refused';
    }
    const known = this.find(candidate, candidate.protocol, candidate.tcpType === 'passive');
    if (known >= 0) {
      const learned = this.list[known];
      if (learned.type !== 'prflx') return 'duplicate';
      // In place, so the pairs that point at it see the signalled type, priority and foundation.
      delete learned.relatedAddress;
      delete learned.relatedPort;
      Object.assign(learned, candidate);
      return 'replaced-prflx';
    }
    this.list.push(candidate);
    return 'added';
  }

  /**
   * §7.3.1.3: the candidate for a check that came from `from`, learning a peer-reflexive one (priority from
   * the check's PRIORITY) when none is known. Returns it and whether it is new, or undefined if refused.
   */
  learn(
    from: TransportAddress,
    priority: number,
    component: number,
    protocol: IceProtocol,
    checklist: Checklist,
    selected: CandidatePair | undefined,
  ): { candidate: IceCandidate; learned: boolean } | undefined {
    // RFC 6544 §7.2: a check over a connection the peer opened comes from its active candidate — never from
    // a passive one at the same address (a TURN server's Connect comes from the relayed address and port).
    const i = this.find(from, protocol, false);
    if (i >= 0) return { candidate: this.list[i], learned: false };
    this.forgetOldest(checklist, selected);
    if (this.list.length >= this.maxCandidates) {
      this.refused++;
      return undefined;
    }
    const candidate: IceCandidate = {
      foundation: `prflx${++this.learned}`,
      component,
      protocol,
      priority,
      address: from.address,
      port: from.port,
      type: 'prflx',
      // RFC 6544 §7.2: a check over a connection the peer opened comes from its active candidate.
      ...(protocol === 'tcp' ? { tcpType: 'active' as const } : {}),
      extensions: [],
    };
    this.list.push(candidate);
    return { candidate, learned: true };
  }

  /** What the peer signalled, end-of-candidates (null) last if it came: to be added again after a restart. */
  signalled(): (IceCandidate | null)[] {
    return [...this.list.filter((c) => c.type !== 'prflx'), ...(this.endOfCandidates ? [null] : [])];
  }

  clear(): void {
    this.list.length = 0;
    this.endOfCandidates = false;
  }

  /** `passive`: for TCP, whether a passive candidate is looked for (a check's source never is one). */
  private find(address: TransportAddress, protocol: IceProtocol, passive: boolean): number {
    return this.list.findIndex(
      (r) => r.address === address.address && r.port === address.port && r.protocol === protocol && (protocol !== 'tcp' || (r.tcpType === 'passive') === passive),
    );
  }

  /**
   * Past maxPeerReflexive learned candidates, the oldest with no valid pair is forgotten (with its pairs):
   * behind a symmetric NAT every check can arrive from a new mapping, and those must not crowd out the
   * signalled (and relayed) candidates.
   */
  private forgetOldest(checklist: Checklist, selected: CandidatePair | undefined): void {
    const learned = this.list.filter((r) => r.type === 'prflx');
    if (learned.length < this.maxPeerReflexive) return;
    const victim = learned.find((r) => !checklist.pairs.some((p) => p.remote === r && (p.valid || p === selected)));
    if (!victim) return;
    checklist.removeRemote(victim);
    this.list.splice(this.list.indexOf(victim), 1);
  }
}
