// mDNS ICE candidates (draft-ietf-mmusic-mdns-ice-candidates) for IceAgent: the peer's `<uuid>.local`
// candidates resolved by mDNS before they are paired (§3.2), and our host addresses hidden behind fresh
// names (§3.1) that are withdrawn when the agent closes.
import type { MdnsHostNames } from '../mdns/mdns-service.js';
import { isMdnsCandidateAddress, isUuidLocalName } from '../mdns/mdns-names.js';
import { familyOf } from '../net/transport-address.js';
import type { IceCandidate } from './candidate.js';
import type { GatheringError } from './gatherer.js';

export type MdnsHostCandidates = 'off' | 'on';

/** What an unresolved candidate is reported as: RTCPeerConnectionIceErrorEvent's fields. */
export interface MdnsCandidateError extends GatheringError {
  address: string;
  port: number;
}

export class MdnsCandidates {
  /** Our names, by the address they stand for (§3.1.1 step 5: one name per address, reused). */
  private readonly names = new Map<string, string>();
  private pending = 0;
  private afterPending: (() => void)[] = [];
  /** Bumped by an ICE restart: resolutions started before it are dropped. */
  private generation = 0;
  private closed = false;

  constructor(
    private readonly mdns: MdnsHostNames | undefined,
    readonly hostCandidates: MdnsHostCandidates,
  ) {
    if (hostCandidates === 'on' && !mdns) throw new TypeError("mdnsHostCandidates 'on' needs an mDNS service (the mdns option)");
    if (hostCandidates !== 'on' && hostCandidates !== 'off') throw new TypeError(`mdnsHostCandidates must be 'off' or 'on', got ${String(hostCandidates)}`);
  }

  /** Whether the peer's candidate must be resolved first (draft §3.2.1 step 1). */
  static isMdns(candidate: IceCandidate): boolean {
    return isMdnsCandidateAddress(candidate.address);
  }

  get resolving(): number {
    return this.pending;
  }

  /**
   * The form of one of our candidates the peer is told (§3.1.1 step 6): a host candidate's address is its
   * name; a server-reflexive one's raddr/rport are "0.0.0.0"/"::" and 0 (§3.1.2.2 says rport 9; 0 is what
   * browsers send, and what this project's issue asks for). Other types are as gathered.
   */
  expose(candidate: IceCandidate): IceCandidate {
    if (this.hostCandidates !== 'on' || !this.mdns) return candidate;
    if (candidate.type === 'host') {
      let name = this.names.get(candidate.address);
      if (!name) {
        name = this.mdns.register(candidate.address);
        this.names.set(candidate.address, name);
      }
      return { ...candidate, address: name };
    }
    if (candidate.type === 'srflx' && candidate.relatedAddress !== undefined) {
      return { ...candidate, relatedAddress: familyOf(candidate.relatedAddress) === 'IPv4' ? '0.0.0.0' : '::', relatedPort: 0 };
    }
    return candidate;
  }

  /**
   * Resolves the peer's mDNS candidate; `onResolved` gets it with its address (and `mdnsName` set), or
   * `onError` says why it is dropped. Never both, and neither after close() or a restart.
   */
  resolve(candidate: IceCandidate, onResolved: (c: IceCandidate) => void, onError: (e: MdnsCandidateError) => void): void {
    const name = candidate.address;
    const fail = (errorText: string) => onError({ url: '', errorCode: 701, errorText, address: name, port: candidate.port });
    // §3.2.2: names not in the §3.1 form are not resolved (they would let a peer aim checks at printers).
    if (!isUuidLocalName(name)) return fail(`${name} is not a <uuid>.local name; not resolved`);
    if (!this.mdns) return fail(`${name}: no mDNS resolver in this runtime`);
    const generation = this.generation;
    this.pending++;
    this.mdns.resolve(name).then(
      (addresses) => {
        if (this.stale(generation)) return;
        // §3.2.2: an agent SHOULD ignore names that resolve to more than one address.
        if (addresses.length !== 1) fail(`${name} resolved to ${addresses.length} addresses; ignored`);
        else onResolved({ ...candidate, address: addresses[0], mdnsName: name });
      },
      (err: unknown) => {
        if (!this.stale(generation)) fail(err instanceof Error ? err.message : String(err));
      },
    ).finally(() => this.settle(generation));
  }

  /** Runs `task` once no resolution is in flight (end-of-candidates waits for them: RFC 8838 §14). */
  whenSettled(task: () => void): void {
    if (this.pending === 0) task();
    else this.afterPending.push(task);
  }

  /** ICE restart: resolutions in flight are for the old candidates. */
  restart(): void {
    this.generation++;
    this.pending = 0;
    this.afterPending = [];
  }

  /** Withdraws our names (goodbye packets) and lets the service go. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.generation++;
    this.afterPending = [];
    for (const name of this.names.values()) this.mdns?.unregister(name);
    this.names.clear();
    this.mdns?.release?.();
  }

  private stale(generation: number): boolean {
    return this.closed || generation !== this.generation;
  }

  private settle(generation: number): void {
    if (this.stale(generation)) return;
    this.pending--;
    if (this.pending > 0) return;
    const tasks = this.afterPending;
    this.afterPending = [];
    for (const t of tasks) t();
  }
}
