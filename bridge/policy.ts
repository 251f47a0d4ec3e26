// Where a bridge session may send. The defaults keep a page from reaching the bridge host itself and the
// cloud metadata service (an SSRF over UDP otherwise). CIDR matching is shared with the TURN server's peer
// policy: src/net/address-policy.ts.
import { AddressPolicy, cidrContains, parseCidr, type Cidr } from '../src/net/address-policy.js';

export { cidrContains, parseCidr, type Cidr };

/** Refused unless `allow` names them (loopback too, unless `allowLoopback`). */
export const DEFAULT_DENIED: readonly { cidr: string; why: string }[] = [
  { cidr: '0.0.0.0/8', why: '"this network" (RFC 6890)' },
  { cidr: '::/128', why: 'unspecified' },
  { cidr: '169.254.0.0/16', why: 'link-local, holds the cloud metadata service 169.254.169.254' },
  { cidr: 'fe80::/10', why: 'link-local' },
  { cidr: 'fd00:ec2::254/128', why: 'AWS metadata service over IPv6' },
  { cidr: '100.100.100.200/32', why: 'Alibaba Cloud metadata service' },
  { cidr: '224.0.0.0/4', why: 'multicast' },
  { cidr: 'ff00::/8', why: 'multicast' },
  { cidr: '255.255.255.255/32', why: 'limited broadcast' },
];

export interface DestinationPolicyOptions {
  /** Let sessions reach 127.0.0.0/8 and ::1 (local use and tests). Default false. */
  allowLoopback?: boolean;
  /** CIDR blocks let through even though a default denies them. */
  allow?: string[];
  /** CIDR blocks refused; an explicit deny wins over `allow`. */
  deny?: string[];
}

export type DestinationVerdict = 'allowed' | 'invalid-destination' | 'destination-denied';

export class DestinationPolicy {
  private readonly policy: AddressPolicy;
  /** Verdicts of recent destinations: a session sends to few peers, many times. */
  private readonly recent = new Map<string, DestinationVerdict>();

  /** Throws a TypeError for a malformed CIDR block, so bad configuration fails at start. */
  constructor(options: DestinationPolicyOptions = {}) {
    this.policy = new AddressPolicy({ ...options, defaults: DEFAULT_DENIED.map((d) => d.cidr), precedence: 'deny' });
  }

  /** Decides for one destination without allocating: it runs once per outgoing datagram. */
  check(address: string, port: number): DestinationVerdict {
    if (!Number.isInteger(port) || port < 1 || port > 0xffff) return 'invalid-destination';
    let verdict = this.recent.get(address);
    if (verdict === undefined) {
      const v = this.policy.check(address);
      verdict = v === 'allowed' ? 'allowed' : v === 'invalid' ? 'invalid-destination' : 'destination-denied';
      if (this.recent.size >= 1024) this.recent.clear();
      this.recent.set(address, verdict);
    }
    return verdict;
  }
}
